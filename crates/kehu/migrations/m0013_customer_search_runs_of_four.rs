//! Every customer's search terms written again, now with a `q:` term for
//! each run of four characters of a name and `a:` starts of up to four
//! (`customers::model::NAME_TERM_CHARS`), so that a four-character text
//! (有限公司, 化工有限) is answered by the index alone, count included,
//! instead of testing each of its candidates' rows. The index is rewritten
//! as migration m0010 does it.
use sea_orm_migration::prelude::*;

terms_written_again!();
