//! Recurring faults: the same alarm on the same cell (and asset, where one was given) filed at
//! least `min` times within `days` days. A fault seen once is a fix; one that keeps coming back
//! is a machine problem, and this is the list a supervisor reads to find it.

use std::collections::HashMap;

use crate::db::SqlBuilder;
use serde::Serialize;
use uuid::Uuid;

use super::Outcome;
use crate::db::Db;
use crate::time::Timestamp;

pub const MIN_DEFAULT: u32 = 3;
pub const DAYS_DEFAULT: u32 = 30;
pub const MIN_RANGE: (u32, u32) = (2, 1000);
pub const DAYS_RANGE: (u32, u32) = (1, 3650);
/// A group lists at most this many of its cases (the newest); its count is still whole.
pub const CASES_PER_GROUP: usize = 50;

/// What counts as recurring: at least `min` cases in the `days` days up to `now`, of one guide
/// when `guide` is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    pub min: u32,
    pub days: u32,
    pub guide: Option<String>,
}

impl Default for Window {
    fn default() -> Self {
        Window {
            min: MIN_DEFAULT,
            days: DAYS_DEFAULT,
            guide: None,
        }
    }
}

impl Window {
    /// A window from asked-for numbers, each pulled into its range.
    pub fn clamped(min: u32, days: u32, guide: Option<String>) -> Window {
        Window {
            min: min.clamp(MIN_RANGE.0, MIN_RANGE.1),
            days: days.clamp(DAYS_RANGE.0, DAYS_RANGE.1),
            guide,
        }
    }

    /// The oldest time a case may have been filed to count (inclusive).
    pub fn since(&self, now: Timestamp) -> Timestamp {
        now.plus_secs(-i64::from(self.days) * 86_400)
    }
}

/// How places and fixes are compared. Techs type them with stray spaces and varying capitals,
/// so those differences must not split a group.
pub fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// One case of a group, as the list shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupCase {
    pub id: Uuid,
    pub created_at: Timestamp,
    pub outcome: Outcome,
    pub fix_applied: String,
}

impl GroupCase {
    pub fn url(&self) -> String {
        format!("/cases/{}", self.id)
    }
}

/// One fix that was tried: how often, how each try ended, and whether any try held.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FixTried {
    /// As the newest case that tried it wrote it; empty when nothing was recorded.
    pub fix: String,
    pub count: usize,
    /// Each outcome with how many tries ended so, in `Outcome::ALL` order.
    pub outcomes: Vec<(Outcome, usize)>,
    pub held: bool,
}

/// The same alarm cycling on one place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Group {
    /// The alarm as the newest case wrote it.
    pub alarm: String,
    pub site: String,
    pub line: String,
    pub cell: String,
    pub asset: String,
    pub count: usize,
    pub first_at: Timestamp,
    pub last_at: Timestamp,
    /// The guide of the newest case that has one.
    pub guide: Option<String>,
    /// Whether any case ended `fixed`.
    pub held: bool,
    /// Most tried first.
    pub fixes: Vec<FixTried>,
    /// Newest first, at most `CASES_PER_GROUP`.
    pub cases: Vec<GroupCase>,
}

impl Group {
    /// "Line 2 / Cell 4 / PLC-7", most general first; empty when no place was given.
    pub fn place(&self) -> String {
        [&self.site, &self.line, &self.cell, &self.asset]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// The line and cell only, as a guide page names where its fault recurs.
    pub fn cell_place(&self) -> String {
        [&self.line, &self.cell]
            .into_iter()
            .filter(|s| !s.is_empty())
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" / ")
    }

    /// The cases left out of `cases`.
    pub fn more(&self) -> usize {
        self.count.saturating_sub(self.cases.len())
    }
}

/// A case as read for grouping: only the columns the groups need.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Row {
    #[sqlx(try_from = "crate::db::UuidText")]
    pub id: Uuid,
    pub created_at: Timestamp,
    pub guide: Option<String>,
    pub site: String,
    pub line: String,
    pub cell: String,
    pub asset: String,
    pub verbatim_alarm: String,
    /// As stored at filing; NULL on a row the start-up backfill has not reached yet.
    pub alarm_key: Option<String>,
    pub fix_applied: String,
    pub outcome: Outcome,
}

/// The recurring groups as of `now`, newest (by latest case) first.
pub async fn find(db: &Db, w: &Window, now: Timestamp) -> Result<Vec<Group>, sqlx::Error> {
    let mut q = SqlBuilder::new(
        "SELECT id, created_at, guide, site, line, cell, asset, verbatim_alarm, alarm_key, \
         fix_applied, outcome FROM cases WHERE created_at >= ",
    );
    q.push_bind(w.since(now))
        .push(" AND created_at <= ")
        .push_bind(now);
    if let Some(g) = &w.guide {
        q.push(" AND guide = ").push_bind(g.clone());
    }
    q.push(" ORDER BY created_at DESC, id DESC");
    let rows: Vec<Row> = q.build_query_as()?.fetch_all(db).await?;
    Ok(group(rows, w.min))
}

/// Groups rows (newest first) by alarm and place and keeps those with at least `min` cases.
pub fn group(rows: Vec<Row>, min: u32) -> Vec<Group> {
    let mut order: Vec<[String; 5]> = Vec::new();
    let mut by_key: HashMap<[String; 5], Vec<Row>> = HashMap::new();
    for r in rows {
        // The alarm key "Seen before" uses: one code in any notation is one alarm, and a pasted
        // log line's timestamp, different on every sighting, does not split a group.
        let key = [
            r.alarm_key
                .clone()
                .unwrap_or_else(|| super::similar::alarm_key(&r.verbatim_alarm)),
            normalise(&r.site),
            normalise(&r.line),
            normalise(&r.cell),
            normalise(&r.asset),
        ];
        let members = by_key.entry(key.clone()).or_default();
        if members.is_empty() {
            order.push(key);
        }
        members.push(r);
    }
    // Rows came newest first, so `order` is by each group's latest case already.
    order
        .into_iter()
        .filter_map(|k| by_key.remove(&k))
        .filter(|members| members.len() >= min as usize)
        .map(summarise)
        .collect()
}

/// One group from its members, newest first (never empty).
fn summarise(members: Vec<Row>) -> Group {
    let newest = &members[0];
    let oldest = &members[members.len() - 1];
    let mut fixes: Vec<(String, FixTried)> = Vec::new();
    for r in &members {
        let key = normalise(&r.fix_applied);
        let at = match fixes.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                fixes.push((
                    key,
                    FixTried {
                        fix: r.fix_applied.trim().to_string(),
                        count: 0,
                        outcomes: Vec::new(),
                        held: false,
                    },
                ));
                fixes.len() - 1
            }
        };
        let f = &mut fixes[at].1;
        f.count += 1;
        f.held |= r.outcome == Outcome::Fixed;
        match f.outcomes.iter_mut().find(|(o, _)| *o == r.outcome) {
            Some((_, n)) => *n += 1,
            None => f.outcomes.push((r.outcome, 1)),
        }
    }
    let mut fixes: Vec<FixTried> = fixes.into_iter().map(|(_, f)| f).collect();
    for f in &mut fixes {
        f.outcomes
            .sort_by_key(|(o, _)| Outcome::ALL.iter().position(|a| a == o));
    }
    // Stable: equal counts keep the order of their newest try.
    fixes.sort_by_key(|f| std::cmp::Reverse(f.count));
    Group {
        alarm: newest.verbatim_alarm.clone(),
        site: newest.site.clone(),
        line: newest.line.clone(),
        cell: newest.cell.clone(),
        asset: newest.asset.clone(),
        count: members.len(),
        first_at: oldest.created_at,
        last_at: newest.created_at,
        guide: members.iter().find_map(|r| r.guide.clone()),
        held: members.iter().any(|r| r.outcome == Outcome::Fixed),
        fixes,
        cases: members
            .iter()
            .take(CASES_PER_GROUP)
            .map(|r| GroupCase {
                id: r.id,
                created_at: r.created_at,
                outcome: r.outcome,
                fix_applied: r.fix_applied.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(minutes_ago: i64, alarm: &str, cell: &str, fix: &str, outcome: Outcome) -> Row {
        let now = Timestamp::parse("2026-11-30T12:00:00Z").expect("time");
        Row {
            id: Uuid::now_v7(),
            created_at: now.plus_secs(-minutes_ago * 60),
            guide: None,
            site: String::new(),
            line: "Line 2".into(),
            cell: cell.into(),
            asset: String::new(),
            verbatim_alarm: alarm.into(),
            alarm_key: None,
            fix_applied: fix.into(),
            outcome,
        }
    }

    #[test]
    fn alarms_differing_in_spacing_and_capitals_group_together() {
        let rows = vec![
            row(
                1,
                "Bad_Timeout  on\nGW-2",
                "Cell 4",
                "reseat",
                Outcome::NotFixed,
            ),
            row(
                2,
                "bad_timeout on gw-2 ",
                "cell 4",
                "Reseat",
                Outcome::Fixed,
            ),
            row(3, "BAD_TIMEOUT ON GW-2", "Cell 4", "", Outcome::Escalated),
        ];
        let groups = group(rows, 3);
        assert_eq!(groups.len(), 1);
        let g = &groups[0];
        assert_eq!(g.alarm, "Bad_Timeout  on\nGW-2", "the newest case's words");
        assert_eq!(g.count, 3);
        assert!(g.held);
        assert_eq!(g.fixes.len(), 2);
        assert_eq!(g.fixes[0].fix, "reseat");
        assert_eq!(g.fixes[0].count, 2);
        assert_eq!(
            g.fixes[0].outcomes,
            vec![(Outcome::Fixed, 1), (Outcome::NotFixed, 1)]
        );
        assert!(g.fixes[0].held);
        assert!(!g.fixes[1].held);
    }

    #[test]
    fn log_timestamps_do_not_split_a_group_and_one_code_is_one_alarm() {
        let rows = vec![
            row(
                1,
                "2026-11-30 02:14:07 Drive DC bus low",
                "Cell 4",
                "",
                Outcome::NotFixed,
            ),
            row(
                2,
                "2026-11-29 19:01:44 drive dc bus low",
                "Cell 4",
                "",
                Outcome::NotFixed,
            ),
            row(
                3,
                "[ERROR] Drive DC bus low",
                "Cell 4",
                "",
                Outcome::NotFixed,
            ),
            row(
                4,
                "status 0x800A0000 on GW-2",
                "Cell 4",
                "",
                Outcome::NotFixed,
            ),
            row(5, "Bad_Timeout", "Cell 4", "", Outcome::NotFixed),
            row(
                6,
                "OpcUa_BadTimeout from the stack",
                "Cell 4",
                "",
                Outcome::NotFixed,
            ),
            row(7, "Drive DC bus high", "Cell 4", "", Outcome::NotFixed),
        ];
        let groups = group(rows, 3);
        let counts: Vec<(&str, usize)> =
            groups.iter().map(|g| (g.alarm.as_str(), g.count)).collect();
        assert_eq!(
            counts,
            vec![
                ("2026-11-30 02:14:07 Drive DC bus low", 3),
                ("status 0x800A0000 on GW-2", 3),
            ]
        );
    }

    #[test]
    fn other_cells_are_other_groups_and_small_groups_are_dropped() {
        let rows = vec![
            row(1, "A", "Cell 4", "", Outcome::NotFixed),
            row(2, "A", "Cell 5", "", Outcome::NotFixed),
            row(3, "A", "Cell 4", "", Outcome::NotFixed),
            row(4, "A", "Cell 5", "", Outcome::NotFixed),
            row(5, "A", "Cell 4", "", Outcome::NotFixed),
        ];
        let groups = group(rows, 3);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].cell, "Cell 4");
        assert!(!groups[0].held);
        assert_eq!(group(Vec::new(), 2), Vec::new());
    }

    #[test]
    fn a_window_starts_exactly_days_before_now() {
        let now = Timestamp::parse("2026-11-30T12:00:00Z").expect("time");
        let w = Window::clamped(0, 0, None);
        assert_eq!((w.min, w.days), (2, 1));
        assert_eq!(w.since(now).to_db(), "2026-11-29T12:00:00.000000Z");
        assert_eq!(Window::clamped(5000, 9999, None).days, 3650);
    }
}
