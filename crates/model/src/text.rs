//! [`Shared`]: text that many records of a scan repeat, held once per distinct value.
//!
//! An organization's scan holds millions of functions whose region, runtime, architecture,
//! execution role, variable names and layers are drawn from a few thousand values. Each such
//! field is a pointer to one shared copy, interned process-wide as records are made or read, so
//! the snapshot's memory grows with the functions' own names and ARNs, not with every repeated
//! field. Interned values live as long as the process (they are bounded by the distinct values
//! seen, which is small beside the records).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, Mutex, OnceLock};

/// Text shared between the records that repeat it. Reads as a `&str`; compares, orders and
/// hashes as its text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shared(Arc<str>);

fn interned() -> &'static Mutex<HashSet<Arc<str>>> {
    static SET: OnceLock<Mutex<HashSet<Arc<str>>>> = OnceLock::new();
    SET.get_or_init(Default::default)
}

impl Shared {
    /// The shared copy of `text`, made on first use.
    pub fn new(text: &str) -> Shared {
        let mut set = interned().lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = set.get(text) {
            return Shared(found.clone());
        }
        let value: Arc<str> = Arc::from(text);
        set.insert(value.clone());
        Shared(value)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Shared {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Shared {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Shared {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Shared {
    fn from(text: &str) -> Shared {
        Shared::new(text)
    }
}

impl From<String> for Shared {
    fn from(text: String) -> Shared {
        Shared::new(&text)
    }
}

impl From<&String> for Shared {
    fn from(text: &String) -> Shared {
        Shared::new(text)
    }
}

impl From<Shared> for String {
    fn from(text: Shared) -> String {
        text.0.to_string()
    }
}

impl PartialEq<str> for Shared {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Shared {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Shared {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Shared> for &str {
    fn eq(&self, other: &Shared) -> bool {
        *self == &*other.0
    }
}

impl PartialEq<Shared> for String {
    fn eq(&self, other: &Shared) -> bool {
        **self == *other.0
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Shared {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Interns the text in place: no string is allocated for a value already seen.
        struct Text;
        impl serde::de::Visitor<'_> for Text {
            type Value = Shared;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Shared, E> {
                Ok(Shared::new(v))
            }
        }
        d.deserialize_str(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_texts_share_one_copy_and_read_as_their_text() {
        let a = Shared::new("us-east-1");
        let b: Shared = String::from("us-east-1").into();
        let c: Shared = serde_json::from_str("\"us-east-1\"").unwrap();
        assert!(Arc::ptr_eq(&a.0, &b.0) && Arc::ptr_eq(&a.0, &c.0));
        assert_eq!(a, "us-east-1");
        assert_eq!(format!("{a:?} {a}"), "\"us-east-1\" us-east-1");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"us-east-1\"");
        assert!(Shared::new("eu-west-1") < a);
        assert_eq!(["x".into(), Shared::new("y")].join(","), "x,y");
    }
}
