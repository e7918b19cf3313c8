//! Every customer's search terms written again, now with the `a:` terms
//! (the first one to three characters of each name), so that the names
//! that start with what was typed rank before the other matches
//! (`customers::model::name_start_term`). The index is rewritten as
//! migration m0010 does it.
use sea_orm_migration::prelude::*;

terms_written_again!();
