//! A JSON string read in place: the property's text borrowed from the line it was read from,
//! copied only when escapes in the JSON made it a new string.
//!
//! serde borrows a `Cow<str>` only when it is a field's whole type; inside an `Option` or a
//! `Vec` it copies every string, one allocation each, which for a million accounts of a dozen
//! properties is most of what reading them costs. Every reader of many records uses this type.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::de::{Deserialize, Deserializer, Error, Visitor};

/// A string property, borrowed from the line unless it held escapes.
#[derive(Debug)]
pub struct Text<'a>(pub Cow<'a, str>);

impl Deref for Text<'_> {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InPlace;

        impl<'de> Visitor<'de> for InPlace {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: Error>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(s)))
            }

            fn visit_str<E: Error>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s.to_owned())))
            }

            fn visit_string<E: Error>(self, s: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(s)))
            }
        }

        d.deserialize_str(InPlace)
    }
}

impl<'a> Text<'a> {
    /// Adds `more` after `separator`, copying only once a second value makes a new string.
    pub fn join(&mut self, separator: &str, more: &str) {
        let joined = self.0.to_mut();
        joined.push_str(separator);
        joined.push_str(more);
    }

    pub fn empty() -> Self {
        Text(Cow::Borrowed(""))
    }

    pub fn into_owned(self) -> String {
        self.0.into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings_are_borrowed_and_escaped_ones_decoded() {
        let line = r#"["plain","tab\tthere","caf\u00e9"]"#;
        let texts: Vec<Text> = serde_json::from_str(line).expect("strings");
        assert!(matches!(texts[0].0, Cow::Borrowed("plain")));
        assert!(matches!(&texts[1].0, Cow::Owned(s) if s == "tab\tthere"));
        assert_eq!(&*texts[2], "café");
    }

    #[test]
    fn anything_but_a_string_is_refused_as_one() {
        let e = serde_json::from_str::<Text>("5").expect_err("a number");
        assert_eq!(
            e.to_string(),
            "invalid type: integer `5`, expected a string at line 1 column 1"
        );
    }

    #[test]
    fn joining_copies_only_once_there_is_a_second_value() {
        let mut t = Text(Cow::Borrowed("a"));
        t.join("; ", "b");
        t.join("; ", "c");
        assert_eq!(&*t, "a; b; c");
    }
}
