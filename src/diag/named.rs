//! Closed sets with stable names: an enum the code decides on, whose name is
//! what output prints and serializes (a URL problem's kind, a probe failure's
//! class and phase). One macro, so each set is written once as
//! `Variant = "name"` pairs and gets the same `as_str`, `ALL`, `Display`
//! (padding honoured, for tables) and `Serialize` (as the name).

/// `named_enum! { /// doc  pub enum Name { /// doc  Variant = "name", … } }`.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $(
                #[doc = concat!("`", $text, "`")]
                $(#[$vmeta])*
                $variant,
            )*
        }

        impl $name {
            /// Every value, in declaration order.
            #[allow(dead_code)]
            $vis const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stable name, as printed and serialized.
            $vis fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
    };
}

pub(crate) use named_enum;
