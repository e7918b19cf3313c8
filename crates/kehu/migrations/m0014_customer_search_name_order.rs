//! Every customer's search terms written again, now with `p:` terms of
//! where its name order key lies in a list sorted by name
//! (`customers::model::name_order_terms`), so that such a list finds the
//! matches of a city's name or pinyin in the few stretches that hold them
//! instead of sorting every match. The index is rewritten as migration
//! m0010 does it.
use sea_orm_migration::prelude::*;

terms_written_again!();
