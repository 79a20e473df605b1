//! The Verify checklist: which of its guide's numbered Verify steps a case confirmed, and how
//! often each step is confirmed across the guide's cases.

use serde::Serialize;
use sqlx::{Any, Row, Transaction};
use uuid::Uuid;

use super::FieldError;
use crate::db::Db;

/// The most steps a checklist may name; far above any guide's Verify section.
pub const MAX_STEPS: usize = 50;

/// One step of a case's checklist, in the words it had when the case was filed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyCheck {
    pub step: u32,
    pub text: String,
    pub passed: bool,
}

/// The checklist of a new case: every Verify step of its guide, ticked where the tech confirmed
/// it. `ticked` is `None` when no checklist was offered (an API client that sent none), which
/// records nothing, unlike an offered list left all unticked.
pub fn checklist(
    guide_steps: &[String],
    ticked: Option<&[u32]>,
) -> Result<Vec<VerifyCheck>, FieldError> {
    let Some(ticked) = ticked else {
        return Ok(Vec::new());
    };
    if guide_steps.is_empty() {
        if ticked.is_empty() {
            return Ok(Vec::new());
        }
        return Err(FieldError {
            field: "verified_steps",
            message: "Verify steps can only be ticked on a case filed against a guide with numbered Verify steps.".into(),
        });
    }
    if let Some(bad) = ticked
        .iter()
        .find(|&&n| n == 0 || n as usize > guide_steps.len())
    {
        return Err(FieldError {
            field: "verified_steps",
            message: format!(
                "There is no Verify step {bad}: the guide has steps 1 to {}.",
                guide_steps.len()
            ),
        });
    }
    Ok(guide_steps
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let step = i as u32 + 1;
            VerifyCheck {
                step,
                text: text.clone(),
                passed: ticked.contains(&step),
            }
        })
        .collect())
}

/// Reads step numbers as a form or a client sends them: `1`, `3`, or `1, 3`.
pub fn parse_ticked(values: &[String]) -> Result<Vec<u32>, FieldError> {
    let mut out = Vec::new();
    for v in values.iter().flat_map(|v| v.split(',')) {
        let v = v.trim();
        if v.is_empty() {
            continue;
        }
        let n: u32 = v.parse().map_err(|_| FieldError {
            field: "verified_steps",
            message: format!("`{v}` is not a step number."),
        })?;
        if !out.contains(&n) {
            out.push(n);
        }
        if out.len() > MAX_STEPS {
            return Err(FieldError {
                field: "verified_steps",
                message: format!("At most {MAX_STEPS} Verify steps."),
            });
        }
    }
    out.sort_unstable();
    Ok(out)
}

pub async fn insert(
    tx: &mut Transaction<'_, Any>,
    case: &Uuid,
    checks: &[VerifyCheck],
) -> Result<(), sqlx::Error> {
    for c in checks {
        sqlx::query(
            "INSERT INTO case_checks (case_id, step, step_text, passed) VALUES ($1, $2, $3, $4)",
        )
        .bind(case.to_string())
        .bind(i64::from(c.step))
        .bind(&c.text)
        .bind(i64::from(c.passed))
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

pub async fn of_case(db: &Db, case: &Uuid) -> Result<Vec<VerifyCheck>, sqlx::Error> {
    sqlx::query("SELECT step, step_text, passed FROM case_checks WHERE case_id = $1 ORDER BY step")
        .bind(case.to_string())
        .fetch_all(db)
        .await?
        .iter()
        .map(|r| {
            Ok(VerifyCheck {
                step: u32::try_from(r.try_get::<i64, _>("step")?).unwrap_or(0),
                text: r.try_get("step_text")?,
                passed: r.try_get::<i64, _>("passed")? != 0,
            })
        })
        .collect()
}

/// How often one of a guide's Verify steps was confirmed on its cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepTally {
    pub step: u32,
    pub text: String,
    /// Cases that ticked it.
    pub confirmed: i64,
    /// Cases that were offered it.
    pub offered: i64,
}

/// The tally of each of the guide's current Verify steps. A case counts towards a step only if
/// the step read the same when the case was filed: a reworded step starts again from zero.
pub async fn tally(db: &Db, slug: &str, steps: &[String]) -> Result<Vec<StepTally>, sqlx::Error> {
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT k.step, k.step_text, CAST(SUM(k.passed) AS BIGINT), COUNT(*) FROM case_checks k \
         JOIN cases c ON c.id = k.case_id WHERE c.guide = $1 GROUP BY k.step, k.step_text",
    )
    .bind(slug)
    .fetch_all(db)
    .await?;
    let mut out: Vec<StepTally> = steps
        .iter()
        .enumerate()
        .map(|(i, text)| StepTally {
            step: i as u32 + 1,
            text: text.clone(),
            confirmed: 0,
            offered: 0,
        })
        .collect();
    for r in rows {
        let step: i64 = r.try_get(0)?;
        let text: String = r.try_get(1)?;
        if let Some(t) = out
            .iter_mut()
            .find(|t| i64::from(t.step) == step && t.text == text)
        {
            t.confirmed = r.try_get(2)?;
            t.offered = r.try_get(3)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps() -> Vec<String> {
        vec![
            "Log is clean".into(),
            "Tags good".into(),
            "Polls normal".into(),
        ]
    }

    #[test]
    fn an_offered_list_records_every_step() {
        let c = checklist(&steps(), Some(&[1, 3])).unwrap();
        assert_eq!(
            c.iter().map(|c| (c.step, c.passed)).collect::<Vec<_>>(),
            vec![(1, true), (2, false), (3, true)]
        );
        assert_eq!(checklist(&steps(), Some(&[])).unwrap().len(), 3);
        assert!(checklist(&steps(), None).unwrap().is_empty());
    }

    #[test]
    fn a_step_the_guide_lacks_is_refused() {
        let e = checklist(&steps(), Some(&[4])).unwrap_err();
        assert!(e.message.contains("steps 1 to 3"), "{}", e.message);
        assert!(checklist(&steps(), Some(&[0])).is_err());
        assert!(checklist(&[], Some(&[1])).is_err());
    }

    #[test]
    fn ticked_numbers_are_read_from_repeated_or_listed_values() {
        assert_eq!(
            parse_ticked(&["3".into(), "1, 3".into(), " ".into()]).unwrap(),
            vec![1, 3]
        );
        assert!(parse_ticked(&["one".into()]).is_err());
    }
}
