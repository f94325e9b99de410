//! The inventory's items by id, their text kept in one buffer. An organization's inventory is
//! millions of short strings (ids, summaries, accounts, regions); held as separate allocations
//! they cost more to make, hold and free than to compare.

// Every `Items` hashes with the process's one hasher, so an entry's hash is good in any of
// them: `Items::append` files it without hashing its id again.
use rolescope_model::text::hasher;
use std::hash::BuildHasher;

/// One inventory item as the history compares it: a short summary of what it is, and where it
/// lives (for items that live in an account and region). Borrowed from its [`Items`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Item<'a> {
    /// What changes when the item changes ("role …, policy …, urls [NONE]").
    pub summary: &'a str,
    /// Its account.
    pub account: Option<&'a str>,
    /// Its region.
    pub region: Option<&'a str>,
}

/// Items by id (account id, ARN, qualified ARN or policy id). Inserting an id again replaces
/// its item, as a map does.
#[derive(Clone, Default)]
pub struct Items {
    /// Every entry's id, summary, account and region, one after another.
    text: String,
    entries: Vec<Entry>,
    /// Entry numbers by the hash of their id.
    index: hashbrown::HashTable<usize>,
}

/// Where one item's strings are in [`Items::text`]: `start..key`, `key..summary`,
/// `summary..account`, `account..end`.
#[derive(Clone, Copy)]
struct Entry {
    hash: u64,
    start: usize,
    key: usize,
    summary: usize,
    account: usize,
    end: usize,
    has_account: bool,
    has_region: bool,
}

impl Items {
    /// No items.
    pub fn new() -> Self {
        Items::default()
    }

    /// How many items.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No items at all.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key_of(&self, e: &Entry) -> &str {
        &self.text[e.start..e.key]
    }

    fn item_of(&self, e: &Entry) -> Item<'_> {
        Item {
            summary: &self.text[e.key..e.summary],
            account: e.has_account.then(|| &self.text[e.summary..e.account]),
            region: e.has_region.then(|| &self.text[e.account..e.end]),
        }
    }

    /// File `item` under `id` (replacing what was there).
    pub fn insert(&mut self, id: &str, item: Item<'_>) {
        self.insert_hashed(hasher().hash_one(id), id, item);
    }

    fn insert_hashed(&mut self, hash: u64, id: &str, item: Item<'_>) {
        let start = self.text.len();
        let mut push = |s: &str| {
            self.text.push_str(s);
            self.text.len()
        };
        let key = push(id);
        let summary = push(item.summary);
        let account = push(item.account.unwrap_or(""));
        let end = push(item.region.unwrap_or(""));
        let entry = Entry {
            hash,
            start,
            key,
            summary,
            account,
            end,
            has_account: item.account.is_some(),
            has_region: item.region.is_some(),
        };
        let (text, entries) = (&self.text, &mut self.entries);
        let found = self.index.entry(
            hash,
            |&i| {
                let e = &entries[i];
                &text[e.start..e.key] == id
            },
            |&i| entries[i].hash,
        );
        match found {
            hashbrown::hash_table::Entry::Occupied(o) => {
                let i = *o.get();
                entries[i] = entry;
            }
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(entries.len());
                entries.push(entry);
            }
        }
    }

    /// The item filed under `id`.
    pub fn get(&self, id: &str) -> Option<Item<'_>> {
        let hash = hasher().hash_one(id);
        self.index
            .find(hash, |&i| self.key_of(&self.entries[i]) == id)
            .map(|&i| self.item_of(&self.entries[i]))
    }

    /// An item is filed under `id`.
    pub fn contains_key(&self, id: &str) -> bool {
        self.get(id).is_some()
    }

    /// Every id and its item, in the order first filed.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Item<'_>)> + '_ {
        self.entries
            .iter()
            .map(|e| (self.key_of(e), self.item_of(e)))
    }

    /// File every item of `other` here (later ones replace earlier ones of the same id).
    pub fn append(&mut self, other: Items) {
        self.text.reserve(other.text.len());
        self.entries.reserve(other.entries.len());
        self.index
            .reserve(other.entries.len(), |&i| self.entries[i].hash);
        for e in &other.entries {
            self.insert_hashed(e.hash, other.key_of(e), other.item_of(e));
        }
    }

    /// Pieces filed apart (in parallel) as one, in order: the room for all is taken once.
    pub fn join(pieces: impl IntoIterator<Item = Items>) -> Items {
        let pieces: Vec<Items> = pieces.into_iter().collect();
        let mut all = Items {
            text: String::with_capacity(pieces.iter().map(|p| p.text.len()).sum()),
            entries: Vec::with_capacity(pieces.iter().map(Items::len).sum()),
            index: hashbrown::HashTable::new(),
        };
        for piece in pieces {
            all.append(piece);
        }
        all
    }
}

impl PartialEq for Items {
    /// The same ids with the same items, whatever the order they were filed in.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(id, item)| other.get(id) == Some(item))
    }
}

impl Eq for Items {}

impl std::fmt::Debug for Items {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a> FromIterator<(&'a str, Item<'a>)> for Items {
    fn from_iter<I: IntoIterator<Item = (&'a str, Item<'a>)>>(iter: I) -> Self {
        let mut items = Items::new();
        for (id, item) in iter {
            items.insert(id, item);
        }
        items
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item<'a>(summary: &'a str, account: Option<&'a str>, region: Option<&'a str>) -> Item<'a> {
        Item {
            summary,
            account,
            region,
        }
    }

    #[test]
    fn items_behave_as_a_map_of_their_ids() {
        let mut items = Items::new();
        assert!(items.is_empty() && items.get("a").is_none());
        items.insert("a", item("one", Some("111111111111"), Some("eu-west-1")));
        items.insert("b", item("", None, None));
        items.insert("ab", item("two", None, Some("")));
        assert_eq!(items.len(), 3);
        assert_eq!(
            items.get("a"),
            Some(item("one", Some("111111111111"), Some("eu-west-1")))
        );
        // An empty summary, region or account is told apart from none.
        assert_eq!(items.get("b"), Some(item("", None, None)));
        assert_eq!(items.get("ab"), Some(item("two", None, Some(""))));
        assert!(!items.contains_key("") && !items.contains_key("abc"));
        // Filed again: replaced, not added.
        items.insert("a", item("three", None, None));
        assert_eq!(items.len(), 3);
        assert_eq!(items.get("a"), Some(item("three", None, None)));
        let ids: Vec<&str> = items.iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["a", "b", "ab"]);
        // Equal whatever the order; another item or id is not equal.
        let reversed: Items = items.iter().collect::<Vec<_>>().into_iter().rev().collect();
        assert_eq!(reversed, items);
        let mut other = reversed.clone();
        other.insert("b", item("", Some("111111111111"), None));
        assert_ne!(other, items);
        let mut split = Items::new();
        split.insert("a", item("old", None, None));
        let mut rest = Items::new();
        for (id, i) in items.iter() {
            rest.insert(id, i);
        }
        split.append(rest);
        assert_eq!(split, items);
        let halves = [
            items.iter().take(1).collect(),
            items.iter().skip(1).collect(),
        ];
        let joined = Items::join(halves);
        assert_eq!(joined, items);
        assert_eq!(joined.iter().map(|(id, _)| id).collect::<Vec<_>>(), ids);
    }

    #[test]
    fn many_items_are_all_found() {
        let ids: Vec<String> = (0..20_000).map(|i| format!("arn:{i}")).collect();
        let mut items = Items::new();
        for (i, id) in ids.iter().enumerate() {
            items.insert(id, item(&ids[(i + 1) % ids.len()], None, None));
        }
        assert_eq!(items.len(), ids.len());
        for (i, id) in ids.iter().enumerate() {
            assert_eq!(
                items.get(id).map(|x| x.summary),
                Some(ids[(i + 1) % ids.len()].as_str())
            );
        }
    }
}
