//! `Object<T>`: deserialize `T` only from a JSON object. serde's derived structs also accept a
//! JSON array, read positionally, so `[[[]]]` would parse as the querybatch answer
//! `{"results": [{}]}` ("no advisories"). Answers of the wrong shape must be errors, so every
//! struct an API answer maps to is wrapped in this.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

/// A `T` that was a JSON object on the wire.
#[derive(Clone, Debug, PartialEq)]
pub struct Object<T>(pub T);

impl<T> std::ops::Deref for Object<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<T>(PhantomData<T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
            type Value = T;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map))
            }
        }

        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Object)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Pair {
        #[serde(default)]
        a: Vec<u8>,
    }

    #[test]
    fn objects_parse_and_arrays_do_not() {
        let ok: Object<Pair> = serde_json::from_str(r#"{"a": [1]}"#).unwrap();
        assert_eq!(ok.0, Pair { a: vec![1] });
        // The derived impl alone takes an array positionally.
        assert!(serde_json::from_str::<Pair>("[[1]]").is_ok());
        let err = serde_json::from_str::<Object<Pair>>("[[1]]").unwrap_err();
        assert!(err.to_string().contains("expected a JSON object"), "{err}");
    }
}
