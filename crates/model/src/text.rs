//! [`Shared`]: text that many records of a scan repeat, held once per distinct value.
//!
//! An organization's scan holds millions of functions whose region, runtime, architecture,
//! execution role, variable names and layers are drawn from a few thousand values. Each such
//! field is a pointer to one shared copy, interned process-wide as records are made or read, so
//! the snapshot's memory grows with the functions' own names and ARNs, not with every repeated
//! field. Interned values live as long as the process (they are bounded by the distinct values
//! seen, which is small beside the records), so a [`Shared`] is a plain `&'static str`: copying
//! or dropping one touches no count that threads would contend for.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Borrow;
use std::fmt;
use std::hash::{BuildHasher, RandomState};
use std::ops::Deref;
use std::sync::{Mutex, OnceLock};

/// Text shared between the records that repeat it. Reads as a `&str`; compares, orders and
/// hashes as its text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shared(&'static str);

/// Independently locked parts of the interned set, so that threads reading records at once
/// rarely wait for each other.
const PARTS: usize = 64;

/// The process's one hasher for tables of text that keep their entries' hashes (the interned
/// text here, the history's items): keyed at random when first used, as a `HashMap`'s is, since
/// the text comes from untrusted snapshots and API answers; one for the process, so a hash made
/// once is good in any such table.
pub fn hasher() -> &'static RandomState {
    static HASHER: OnceLock<RandomState> = OnceLock::new();
    HASHER.get_or_init(RandomState::new)
}

/// The interned values, spread over [`PARTS`] by their [`hasher`] hash.
fn interned() -> &'static [Mutex<hashbrown::HashTable<&'static str>>; PARTS] {
    static SET: OnceLock<[Mutex<hashbrown::HashTable<&'static str>>; PARTS]> = OnceLock::new();
    SET.get_or_init(|| std::array::from_fn(|_| Mutex::default()))
}

impl Shared {
    /// The shared copy of `text`, made on first use.
    pub fn new(text: &str) -> Shared {
        let hash = hasher().hash_one(text);
        // The table places by the hash's low bits and tags by its top ones; the part is chosen
        // by bits in between.
        let part = (hash >> 32) as usize % PARTS;
        let mut table = interned()[part].lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = table.find(hash, |v| *v == text) {
            return Shared(found);
        }
        let value: &'static str = Box::leak(Box::from(text));
        table.insert_unique(hash, value, |v| hasher().hash_one(v));
        Shared(value)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        self.0
    }
}

impl Deref for Shared {
    type Target = str;
    fn deref(&self) -> &str {
        self.0
    }
}

impl AsRef<str> for Shared {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl Borrow<str> for Shared {
    fn borrow(&self) -> &str {
        self.0
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
        self.0 == other
    }
}

impl PartialEq<&str> for Shared {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Shared {
    fn eq(&self, other: &String) -> bool {
        self.0 == other.as_str()
    }
}

impl PartialEq<Shared> for &str {
    fn eq(&self, other: &Shared) -> bool {
        *self == other.0
    }
}

impl PartialEq<Shared> for String {
    fn eq(&self, other: &Shared) -> bool {
        self.as_str() == other.0
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl Serialize for Shared {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
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
        assert!(std::ptr::eq(a.0, b.0) && std::ptr::eq(a.0, c.0));
        assert_eq!(a, "us-east-1");
        assert_eq!(format!("{a:?} {a}"), "\"us-east-1\" us-east-1");
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"us-east-1\"");
        assert!(Shared::new("eu-west-1") < a);
        assert_eq!(["x".into(), Shared::new("y")].join(","), "x,y");
    }

    #[test]
    fn threads_interning_the_same_texts_at_once_get_one_copy_of_each() {
        let texts: Vec<String> = (0..2_000).map(|i| format!("text-{i}")).collect();
        let seen: Vec<Vec<Shared>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..4)
                .map(|t| {
                    let texts = &texts;
                    s.spawn(move || {
                        // Each thread in its own order, so they meet on every part.
                        let mut order: Vec<usize> = (0..texts.len()).collect();
                        order.rotate_left(t * 500);
                        let mut out = vec![Shared::new(""); texts.len()];
                        for i in order {
                            out[i] = Shared::new(&texts[i]);
                        }
                        out
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        for (i, text) in texts.iter().enumerate() {
            let first = &seen[0][i];
            assert_eq!(first, text);
            assert!(seen.iter().all(|s| std::ptr::eq(s[i].0, first.0)), "{text}");
            assert!(std::ptr::eq(Shared::new(text).0, first.0));
        }
        assert!(!std::ptr::eq(seen[0][0].0, seen[0][1].0));
    }
}
