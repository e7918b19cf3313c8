//! Customer archive rules that need no IO: identifiers (统一社会信用代码, phone
//! numbers), name normalisation for duplicate detection, pinyin mnemonic codes
//! (助记码), search terms and archive completeness.
//!
//! # Search terms
//!
//! The store keeps, for every customer, the terms returned by [`search_terms`]
//! and one `t:` term per contact phone, read as rows `(term, customer_id)` of
//! `customer_terms` (on SQLite a view over an FTS5 index, migrations m0005
//! and m0010).
//! Every term is a short prefix and a value, letters and digits only after
//! the colon, so that the index's tokenizer keeps each term one token:
//!
//! | term | value | written for |
//! |---|---|---|
//! | `n:<c1><c2>` | two consecutive characters of [`search_text`] of the name | every bigram of the full name and of the short name |
//! | `g:<c1><c2><c3>` | three consecutive characters | every run of three of both names |
//! | `q:<c1>…<c4>` | four consecutive characters ([`NAME_TERM_CHARS`]) | every run of four of both names |
//! | `c:<c>` | one character of [`search_text`] of the name | every character of both names |
//! | `a:<start>` | the first 1 to 4 characters ([`NAME_TERM_CHARS`]) | the start of both names: the names that start with what was typed rank first ([`name_start_term`]) |
//! | `y:<letters>` | the first 1 to 8 letters of a reading, e.g. `y:bjsy`, `y:beijings` | initials (助记码) and full pinyin of every reading variant of [`pinyin_keys`], both names |
//! | `p:<n><start>` | the first `n` letters of the name order key (the full pinyin of the full name, `pinyin`), or all of a shorter key, for each `n` of [`NAME_ORDER_LETTERS`] | every customer whose key is letters and digits: which stretch of a list sorted by name it lies in ([`name_stretches`]) |
//! | `t:<digits>` | [`phone_digits`] of a contact's phone | every phone of every contact |
//! | `k:<start>` | the first 7 and the first 8 characters of the credit code ([`credit_term`]) | a customer with a credit code |
//! | `o:<user id>` | the owner | written and rewritten with the owner |
//! | `s:<user id>` | a user the customer is shared with | one per share |
//! | `f:<field>:<hex>` | a list filter's value ([`filter_term`]) | type, stage, region, industry, grade, each tag |
//!
//! Han characters and Latin letters appear as they are in [`search_text`]:
//! NFKC-folded (full-width → half-width), Latin letters lowercased, everything
//! that is not a letter or digit removed. Pinyin is lowercase ASCII, `ü`
//! written `v`.
//!
//! [`query_terms`] turns a search box into a [`SearchQuery`]:
//! - `CreditCode(code)`: match the stored (normalised, upper-case) credit code.
//! - `Phone(digits)`: stored phones whose [`phone_digits`] start with the
//!   digits (a `t:` prefix), or a credit code that starts with them (the
//!   `k:` term; past eight characters the row's credit code decides); an
//!   exact phone first.
//! - `Code(code)`: match the customer code (upper-case), exact or prefix;
//!   the exact code first.
//! - `Pinyin(s)`: a reading of a name starts with `s`: the term `y:<s>`
//!   ([`pinyin_term`]; past eight letters the row's `pinyin_text` decides).
//! - `Name { terms, text }`: the full or the short name contains `text`.
//!   `terms` (one character's `c:`, two characters' `n:`, three
//!   characters' `g:`, four characters' `q:`, or every run of four of a
//!   longer text) are what every such name holds: the index finds the
//!   candidates, and up to four characters they are the answer, count
//!   included; a longer text is also checked on the row. An empty `text`
//!   means "no name filter".
//!
//! The index is keyed by owner (`store::doc_key` on SQLite, an `owner_id`
//! column on PostgreSQL), so that a team's or a rep's search reads only its
//! owners' entries; the `s:` terms add the customers shared with the user,
//! and the `f:` terms the list's filters, so that a team's or a rep's
//! matches, filtered, are counted on the index, never on the rows.
//!
//! Each customer row also carries its [`search_columns`], which a search
//! walking the list's sort index tests row by row (a common text) instead
//! of reading every customer that holds the text's terms.

mod completeness;
mod credit_code;
mod mnemonic;
mod name;
mod name_order;
mod phone;
mod search;

pub use completeness::{Completeness, completeness};
pub use credit_code::{
    CREDIT_CODE_ALPHABET, CreditCodeError, credit_code_check_char, generate_credit_code,
    validate_credit_code,
};
pub use mnemonic::{PinyinKeys, pinyin_keys};
pub use name::{normalize_name, search_text};
pub use name_order::{NAME_ORDER_LETTERS, NameStretch, name_order_terms, name_stretches};
pub use phone::{PhoneError, mask_phone, normalize_phone, phone_digits};
pub use search::{
    CREDIT_TERM_CHARS, Filters, MIN_PHONE_DIGITS, NAME_TERM_CHARS, PINYIN_TERM_LETTERS,
    SearchColumns, SearchQuery, credit_term, customer_terms, filter_term, name_start_term,
    owner_term, phone_term, pinyin_term, query_terms, search_columns, search_terms, shared_term,
};

/// NFKC: full-width letters, digits and punctuation become ASCII, the
/// ideographic space a plain space, and CJK compatibility ideographs their
/// unified forms, so that what users paste from Word, PDFs or Chinese IMEs
/// compares equal to what they type.
fn nfkc(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().collect()
}
