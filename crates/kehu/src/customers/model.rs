//! Customer archive rules that need no IO: identifiers (统一社会信用代码, phone
//! numbers), name normalisation for duplicate detection, pinyin mnemonic codes
//! (助记码), search terms and archive completeness.
//!
//! # Search terms
//!
//! The store keeps, for every customer, the terms returned by [`search_terms`]
//! and one `t:` term per contact phone, read as rows `(term, customer_id)` of
//! `customer_terms` (on SQLite a view over an FTS5 index, migration m0005).
//! Every term is a short prefix and a value, letters and digits only after
//! the colon, so that the index's tokenizer keeps each term one token:
//!
//! | term | value | written for |
//! |---|---|---|
//! | `n:<c1><c2>` | two consecutive characters of [`search_text`] of the name | every bigram of the full name and of the short name |
//! | `n:<c>` | the last character of [`search_text`] of the name | so that a prefix scan `n:<c>` finds every name containing `<c>`, including one-character names |
//! | `i:<initials>` | pinyin initials (助记码), e.g. `i:bjsy` | every reading variant of [`pinyin_keys`], full and short name |
//! | `p:<full>` | full pinyin without separators, e.g. `p:beijingshiyou` | every reading variant, full and short name |
//! | `t:<digits>` | [`phone_digits`] of a contact's phone | every phone of every contact |
//!
//! Han characters and Latin letters appear as they are in [`search_text`]:
//! NFKC-folded (full-width → half-width), Latin letters lowercased, everything
//! that is not a letter or digit removed. Pinyin is lowercase ASCII, `ü`
//! written `v`.
//!
//! [`query_terms`] turns a search box into a [`SearchQuery`]:
//! - `CreditCode(code)`: match the stored (normalised, upper-case) credit code.
//! - `Phone(digits)`: stored phones whose [`phone_digits`] start with the
//!   digits, or a credit code that starts with them; an exact phone first.
//! - `Code(code)`: match the customer code (upper-case), exact or prefix;
//!   the exact code first.
//! - `Pinyin(s)`: prefix-match `i:<s>` and `p:<s>` terms.
//! - `Name { bigrams, text }`: `bigrams` are complete `n:` terms to intersect;
//!   the store then keeps only customers whose [`search_text`] of full or
//!   short name contains `text` (bigrams can match out of order). With no
//!   bigrams (a single character) the store scans the prefix `n:<text>`;
//!   an empty `text` means "no name filter".
//!
//! Each customer row also carries its [`search_columns`], which a search
//! walking the list's sort index tests row by row (a common text) instead
//! of reading every customer that holds the text's terms.

mod completeness;
mod credit_code;
mod mnemonic;
mod name;
mod phone;
mod search;

pub use completeness::{Completeness, completeness};
pub use credit_code::{
    CREDIT_CODE_ALPHABET, CreditCodeError, credit_code_check_char, generate_credit_code,
    validate_credit_code,
};
pub use mnemonic::{PinyinKeys, pinyin_keys};
pub use name::{normalize_name, search_text};
pub use phone::{PhoneError, mask_phone, normalize_phone, phone_digits};
pub use search::{SearchColumns, SearchQuery, query_terms, search_columns, search_terms};

/// NFKC: full-width letters, digits and punctuation become ASCII, the
/// ideographic space a plain space, and CJK compatibility ideographs their
/// unified forms, so that what users paste from Word, PDFs or Chinese IMEs
/// compares equal to what they type.
fn nfkc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().collect()
}
