//! The core's ids in SQL: each binds and reads as the integer it wraps, so a column of member,
//! character or activity ids reads straight into its id type. Here, in the store, because only
//! the store speaks sqlite: the core's ids know nothing of it.

use rusqlite::types::{FromSql, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

use crate::core::ids::{ActivityId, CharacterId, MemberId};

macro_rules! sql_integer {
    ($($id:ident),*) => {$(
        impl ToSql for $id {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.0))
            }
        }

        impl FromSql for $id {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                i64::column_result(value).map($id)
            }
        }
    )*};
}

sql_integer!(MemberId, CharacterId, ActivityId);
