//! A filer's own additions to their case, for a while after filing: a new outcome, a note,
//! photos. Who may add and until when is decided here; every addition is audited.

use uuid::Uuid;

use super::{store, Case, CaseError, CaseService, FieldError, Outcome, Upload, LONG_MAX};
use crate::auth::audit::{self, AuditAction, AuditEvent};
use crate::auth::{Caller, Identity};
use crate::time::Timestamp;

/// Photos a case may hold in all, the ones added later included.
pub const PHOTOS_PER_CASE: usize = 10;

/// What the filer sends: any of a new outcome, a note and photos, under an idempotency key.
#[derive(Debug, Clone, Default)]
pub struct FollowUp {
    pub outcome: Option<String>,
    pub note: String,
    pub uploads: Vec<Upload>,
    pub key: String,
}

/// A span in words: "72 hours", "7 days", "45 minutes" (days only beyond four).
pub fn span_words(secs: i64) -> String {
    let (n, unit) = if secs % 86_400 == 0 && secs > 96 * 3600 {
        (secs / 86_400, "day")
    } else if secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else if secs % 60 == 0 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// Is this caller the one who filed the case? People and tokens, never the open-intake tablet
/// (whose cases belong to no one in particular).
pub fn is_filer(case: &Case, caller: &Caller) -> bool {
    !matches!(caller.identity, Identity::Anonymous) && case.record.filed_account == caller.actor()
}

/// Until when this caller may add to the case (`window_secs` after filing), or why not.
pub fn deadline(
    case: &Case,
    caller: &Caller,
    now: Timestamp,
    window_secs: i64,
) -> Result<Timestamp, CaseError> {
    if !is_filer(case, caller) {
        return Err(CaseError::NotYours);
    }
    let until = case.created_at.plus_secs(window_secs);
    if window_secs <= 0 || now >= until {
        return Err(CaseError::WindowClosed {
            window: span_words(window_secs.max(0)),
        });
    }
    Ok(until)
}

/// The notes with a dated, signed addition at the end.
fn appended(notes: &str, note: &str, actor: &str, at: Timestamp) -> String {
    let head = format!("Added {} by {actor}:", at.human());
    if notes.trim().is_empty() {
        format!("{head}\n{note}")
    } else {
        format!("{}\n\n{head}\n{note}", notes.trim_end())
    }
}

impl CaseService {
    /// Adds the filer's outcome, note and photos to their case, if they are still allowed to.
    /// A repeat with the same key changes nothing and answers the case as it is.
    pub async fn follow_up(
        &self,
        id: &Uuid,
        add: FollowUp,
        caller: &Caller,
        window_secs: i64,
    ) -> Result<Case, CaseError> {
        let case = store::get(&self.db, id).await?.ok_or(CaseError::NotFound)?;
        let now = Timestamp::now();
        deadline(&case, caller, now, window_secs)?;
        if !super::valid_key(&add.key) {
            return Err(CaseError::BadKey);
        }
        let mut errors = Vec::new();
        let outcome = match add
            .outcome
            .as_deref()
            .map(str::trim)
            .filter(|o| !o.is_empty())
        {
            None => None,
            Some(o) => match Outcome::parse(o) {
                Some(o) => Some(o),
                None => {
                    errors.push(FieldError {
                        field: "outcome",
                        message: format!("`{o}` is not an outcome: choose fixed, workaround, not_fixed or escalated."),
                    });
                    None
                }
            },
        };
        let note = add.note.trim_end();
        let notes = (!note.trim().is_empty())
            .then(|| appended(&case.fields.notes, note, &caller.actor(), now));
        if notes.as_ref().is_some_and(|n| n.chars().count() > LONG_MAX) {
            errors.push(FieldError {
                field: "notes",
                message: format!(
                    "The notes would be over {LONG_MAX} characters; shorten the new note."
                ),
            });
        }
        if case.photos.len() + add.uploads.len() > PHOTOS_PER_CASE {
            errors.push(FieldError {
                field: "photo",
                message: format!(
                    "A case holds at most {PHOTOS_PER_CASE} photos; this one has {} already.",
                    case.photos.len()
                ),
            });
        }
        if !errors.is_empty() {
            return Err(CaseError::Invalid(errors));
        }
        let outcome = outcome.filter(|o| *o != case.fields.outcome);
        if outcome.is_none() && notes.is_none() && add.uploads.is_empty() {
            return Err(CaseError::Invalid(vec![FieldError {
                field: "notes",
                message: "Nothing to add: choose a new outcome, write a note or add a photo."
                    .into(),
            }]));
        }
        let processed = self.decodes.process_all(add.uploads).await?;
        self.write_photos(&processed).await?;
        let mut detail = Vec::new();
        if let Some(o) = outcome {
            detail.push(format!(
                "outcome {} -> {}",
                case.fields.outcome.as_str(),
                o.as_str()
            ));
        }
        if notes.is_some() {
            detail.push("note".to_string());
        }
        if !processed.is_empty() {
            detail.push(format!("{} photo(s)", processed.len()));
        }
        let detail = detail.join(", ");
        let change = store::Addition {
            outcome,
            notes: notes.as_deref(),
            photos: &processed,
            key: &add.key,
            actor: &caller.actor(),
            detail: &detail,
            at: now,
        };
        let applied = match store::add_to_case(&self.db, id, &change).await {
            Ok(applied) => applied,
            Err(e) => {
                self.forget_unreferenced(&processed).await;
                return Err(e.into());
            }
        };
        if !applied {
            self.forget_unreferenced(&processed).await;
        }
        let case = self.reindex(id).await?.ok_or(CaseError::NotFound)?;
        if applied {
            let event = AuditEvent::by(caller, AuditAction::CaseFollowUp, case.id.to_string());
            audit::record(&self.db, event.detail(detail)).await;
        }
        Ok(case)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::cases::{CaseRecord, NewCase};

    fn case_by(account: &str, at: Timestamp) -> Case {
        let draft = crate::cases::CaseDraft {
            verbatim_alarm: Some("Bad_Timeout".into()),
            outcome: Some("fixed".into()),
            ..Default::default()
        };
        let fields: NewCase = draft
            .parse(&crate::content::Library::default())
            .expect("a valid draft");
        Case {
            id: Uuid::now_v7(),
            created_at: at,
            fields,
            photos: Vec::new(),
            checks: Vec::new(),
            record: CaseRecord {
                filed_account: account.into(),
                ..CaseRecord::default()
            },
        }
    }

    fn user(name: &str) -> Caller {
        Caller {
            identity: Identity::User {
                id: "1".into(),
                name: name.into(),
            },
            role: Some(Role::Tech),
            ..Caller::anonymous("127.0.0.1".parse().expect("address"))
        }
    }

    #[test]
    fn the_filer_may_add_inside_the_window_and_no_one_else() {
        let filed = Timestamp::parse("2026-11-20T10:00:00Z").expect("time");
        let case = case_by("ana", filed);
        let hour = 3600;
        let soon = filed.plus_secs(hour);
        assert_eq!(
            deadline(&case, &user("ana"), soon, 72 * hour).ok(),
            Some(filed.plus_secs(72 * hour))
        );
        assert!(matches!(
            deadline(&case, &user("ana"), filed.plus_secs(72 * hour), 72 * hour),
            Err(CaseError::WindowClosed { .. })
        ));
        assert!(matches!(
            deadline(&case, &user("ben"), soon, 72 * hour),
            Err(CaseError::NotYours)
        ));
        assert!(matches!(
            deadline(&case, &user("ana"), soon, 0),
            Err(CaseError::WindowClosed { .. })
        ));
        let tablet = case_by("open-intake", filed);
        let anon = Caller::anonymous("127.0.0.1".parse().expect("address"));
        assert!(matches!(
            deadline(&tablet, &anon, soon, 72 * hour),
            Err(CaseError::NotYours)
        ));
    }

    #[test]
    fn spans_read_as_words_and_notes_are_signed() {
        assert_eq!(span_words(72 * 3600), "72 hours");
        assert_eq!(span_words(7 * 86_400), "7 days");
        assert_eq!(span_words(3600), "1 hour");
        let at = Timestamp::parse("2026-11-20T10:00:00Z").expect("time");
        assert_eq!(
            appended("", "Swapped the cable", "ana", at),
            "Added 2026-11-20 10:00 UTC by ana:\nSwapped the cable"
        );
        assert_eq!(
            appended("First\n", "Again", "ana", at),
            "First\n\nAdded 2026-11-20 10:00 UTC by ana:\nAgain"
        );
    }
}
