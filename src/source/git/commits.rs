//! Refs and commits: every ref a history scan starts from, each commit read
//! once (from the packs where this crate's reader is sure of it, else
//! through libgit2), and the whole history ordered oldest first, parents
//! before children, each commit labelled with the first ref that reaches it.
use std::collections::HashMap;
use std::sync::Arc;

use git2::{ObjectType, Oid, Repository, Sort, TreeWalkMode, TreeWalkResult};
use globset::GlobMatcher;

use super::options::{OidMap, OidSet};
use super::pack;
use crate::base::files::read_capped_text;
use crate::base::time::rfc3339;
use crate::source::{CommitInfo, ScanError};

/// A commit as a location shows it.
pub(super) fn commit_info(oid: Oid, author: String, time: i64, refs: Vec<String>) -> CommitInfo {
    CommitInfo {
        id: oid.to_string(),
        author,
        date: rfc3339(time),
        time,
        refs,
    }
}

/// What the history walks read of a commit.
pub(super) struct ReadCommit {
    /// `Name <email>` of the author.
    pub who: String,
    pub tree: Oid,
    pub parents: Vec<Oid>,
    /// The author's time (a location's `date`).
    pub time: i64,
    /// The committer's time.
    pub committed: i64,
}

/// A reader of commits from the packs, unless grafts rewrite parents: libgit2
/// applies them when it reads a commit, so then it reads every commit.
pub(super) fn commit_reader(
    repo: &Repository,
    packs: Option<Arc<pack::Packs>>,
) -> Option<pack::Reader> {
    let grafts = repo.commondir().join("info/grafts").exists();
    packs.filter(|_| !grafts).map(pack::Reader::new)
}

/// Commit `oid`, from the packs where `reader` is sure of it (`raw` its
/// buffer), else through libgit2, which names what is wrong.
pub(super) fn read_commit(
    repo: &Repository,
    reader: Option<&mut pack::Reader>,
    raw: &mut Vec<u8>,
    oid: Oid,
) -> Result<ReadCommit, git2::Error> {
    let who = |name: &[u8], email: &[u8]| {
        format!(
            "{} <{}>",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(email)
        )
    };
    let fast = reader
        .and_then(|r| r.read(oid, pack::OBJ_COMMIT, raw))
        .and_then(|()| pack::parse_commit(raw));
    if let Some(c) = fast {
        return Ok(ReadCommit {
            who: who(c.name, c.email),
            tree: c.tree,
            parents: c.parents,
            time: c.author_time,
            committed: c.commit_time,
        });
    }
    let c = repo.find_commit(oid)?;
    let a = c.author();
    Ok(ReadCommit {
        who: who(a.name_bytes(), a.email_bytes()),
        tree: c.tree_id(),
        parents: c.parent_ids().collect(),
        time: a.when().seconds(),
        committed: c.time().seconds(),
    })
}

/// Every ref as (full name, commit it peels to), the default branch first,
/// then branches, tags, remote-tracking refs, notes, the stash and the older
/// stash entries of its reflog.
pub fn tips(
    repo: &Repository,
    filter: Option<&GlobMatcher>,
    problems: &mut Vec<ScanError>,
    root: &str,
) -> Vec<(String, Oid)> {
    let mut tips: Vec<(String, Oid)> = Vec::new();
    let head_name = repo.head().ok().and_then(|h| h.name().map(str::to_string));
    let refs = match repo.references() {
        Ok(r) => r,
        Err(e) => {
            problems.push(ScanError::error(
                root,
                format!("cannot list refs: {}", e.message()),
            ));
            return tips;
        }
    };
    for r in refs {
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                problems.push(ScanError::error(
                    root,
                    format!("unreadable ref: {}", e.message()),
                ));
                continue;
            }
        };
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        if filter.is_some_and(|g| !g.is_match(&name)) {
            continue;
        }
        match r.peel_to_commit() {
            Ok(c) => tips.push((name, c.id())),
            // A tag of a tree or blob: nothing to walk.
            Err(e)
                if e.code() == git2::ErrorCode::InvalidSpec
                    || e.class() == git2::ErrorClass::Object => {}
            Err(e) => problems.push(ScanError::error(
                root,
                format!("ref {name}: {}", e.message()),
            )),
        }
    }
    // Only where there is a stash: libgit2 creates the reflog file it is
    // asked to read, and a scan writes nothing into the repository.
    if filter.is_none_or(|g| g.is_match("refs/stash")) && repo.find_reference("refs/stash").is_ok()
    {
        if let Ok(log) = repo.reflog("refs/stash") {
            for (i, entry) in log.iter().enumerate().skip(1) {
                tips.push((format!("stash@{{{i}}}"), entry.id_new()));
            }
        }
    }
    let rank = |n: &str| -> u8 {
        if Some(n) == head_name.as_deref() {
            0
        } else if n.starts_with("refs/heads/") {
            1
        } else if n.starts_with("refs/tags/") {
            2
        } else if n.starts_with("refs/remotes/") {
            3
        } else if n.starts_with("refs/notes/") {
            4
        } else {
            5
        }
    };
    tips.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
    tips
}

/// Refs that peel to a blob or a tree rather than a commit (a tag of a file
/// or of a directory): (full name, object id, whether it is a tree), in
/// name order.
pub(super) fn object_tips(
    repo: &Repository,
    filter: Option<&GlobMatcher>,
) -> Vec<(String, Oid, bool)> {
    let mut out = Vec::new();
    let Ok(refs) = repo.references() else {
        return out; // `tips` reported it
    };
    for r in refs.flatten() {
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        if filter.is_some_and(|g| !g.is_match(&name)) {
            continue;
        }
        match r.peel(ObjectType::Any).map(|o| (o.id(), o.kind())) {
            Ok((id, Some(ObjectType::Blob))) => out.push((name, id, false)),
            Ok((id, Some(ObjectType::Tree))) => out.push((name, id, true)),
            _ => {}
        }
    }
    out.sort();
    out
}

/// The blob ids of HEAD's tree (the default branch of a bare repository).
pub fn head_blobs(repo: &Repository) -> OidSet {
    let mut set = OidSet::default();
    if let Ok(tree) = repo.head().and_then(|h| h.peel_to_tree()) {
        let _ = tree.walk(TreeWalkMode::PreOrder, |_, entry| {
            if entry.kind() == Some(ObjectType::Blob) {
                set.insert(entry.id());
            }
            TreeWalkResult::Ok
        });
    }
    set
}

/// A commit of the history, as [`commits_oldest_first`] read it.
pub(super) struct Walked {
    pub oid: Oid,
    pub tree: Oid,
    /// The author's time (a location's `date`).
    pub time: i64,
    /// The committer's time, which orders the walk.
    pub committed: i64,
    /// `Name <email>`, shared by the commits of one author.
    pub author: Arc<str>,
    /// The first of the tips (in their order) that reaches it.
    pub label: u32,
}

/// Every commit reachable from `tips`, each read once, oldest first: by
/// commit time, parents always before their children, and on equal times
/// in the order they were found. An unreadable commit
/// is a problem and is left out, its ancestors still walked where another
/// path reaches them; the parents a shallow clone cut off are not sought.
pub(super) fn commits_oldest_first(
    repo: &Repository,
    packs: Option<Arc<pack::Packs>>,
    tips: &[(String, Oid)],
    problems: &mut Vec<ScanError>,
    root: &str,
) -> Vec<Walked> {
    let mut reader = commit_reader(repo, packs);
    let mut raw = Vec::new();
    // Written by git, but a scanned tree may hold any repository: capped.
    let shallow: OidSet = read_capped_text(&repo.commondir().join("shallow"), 256 << 20)
        .map(|t| {
            t.lines()
                .filter_map(|l| Oid::from_str(l.trim()).ok())
                .collect()
        })
        .unwrap_or_default();
    let mut index: OidMap<u32> = OidMap::default();
    let mut nodes: Vec<Walked> = Vec::new();
    // Parent indices per node, after a pass that resolves them.
    let mut parent_ids: Vec<Vec<Oid>> = Vec::new();
    let mut authors: HashMap<String, Arc<str>> = HashMap::new();
    let mut stack: Vec<Oid> = tips.iter().rev().map(|t| t.1).collect();
    let mut unreadable = OidSet::default();
    while let Some(oid) = stack.pop() {
        if index.contains_key(&oid) || unreadable.contains(&oid) {
            continue;
        }
        let read = match read_commit(repo, reader.as_mut(), &mut raw, oid) {
            Ok(c) => c,
            Err(e) => {
                problems.push(ScanError::error(
                    root,
                    format!("commit {oid} is missing or corrupt: {}", e.message()),
                ));
                unreadable.insert(oid);
                continue;
            }
        };
        let author = match authors.get(&read.who) {
            Some(x) => x.clone(),
            None => {
                let x: Arc<str> = Arc::from(read.who.as_str());
                authors.insert(read.who, x.clone());
                x
            }
        };
        let parents: Vec<Oid> = if shallow.contains(&oid) {
            Vec::new()
        } else {
            read.parents
        };
        stack.extend(parents.iter().rev());
        index.insert(oid, nodes.len() as u32);
        nodes.push(Walked {
            oid,
            tree: read.tree,
            time: read.time,
            committed: read.committed,
            author,
            label: u32::MAX,
        });
        parent_ids.push(parents);
    }
    let n = nodes.len();
    let parents: Vec<Vec<u32>> = parent_ids
        .iter()
        .map(|ps| ps.iter().filter_map(|p| index.get(p).copied()).collect())
        .collect();
    drop(parent_ids);
    let mut children: Vec<Vec<u32>> = vec![Vec::new(); n];
    let mut waiting: Vec<u32> = vec![0; n];
    for (i, ps) in parents.iter().enumerate() {
        waiting[i] = ps.len() as u32;
        for &p in ps {
            children[p as usize].push(i as u32);
        }
    }
    // Oldest available first; a commit is available once its parents are out.
    let mut ready: std::collections::BinaryHeap<std::cmp::Reverse<(i64, u32)>> = (0..n)
        .filter(|&i| waiting[i] == 0)
        .map(|i| std::cmp::Reverse((nodes[i].committed, i as u32)))
        .collect();
    let mut order: Vec<u32> = Vec::with_capacity(n);
    while let Some(std::cmp::Reverse((_, i))) = ready.pop() {
        order.push(i);
        for &c in &children[i as usize] {
            waiting[c as usize] -= 1;
            if waiting[c as usize] == 0 {
                ready.push(std::cmp::Reverse((nodes[c as usize].committed, c)));
            }
        }
    }
    drop(children);
    if order.len() < n {
        // Only grafts can make parents go round in a circle.
        problems.push(ScanError::error(
            root,
            format!(
                "{} commits form a cycle of parents (grafts?) and were not walked",
                n - order.len()
            ),
        ));
    }
    // Labels: a tip labels itself; a parent takes the least label of its
    // children, which come after it in `order`.
    for (k, (_, tip)) in tips.iter().enumerate() {
        if let Some(&i) = index.get(tip) {
            let l = &mut nodes[i as usize].label;
            *l = (*l).min(k as u32);
        }
    }
    for &i in order.iter().rev() {
        let l = nodes[i as usize].label;
        for &p in &parents[i as usize] {
            let pl = &mut nodes[p as usize].label;
            *pl = (*pl).min(l);
        }
    }
    let mut slots: Vec<Option<Walked>> = nodes.into_iter().map(Some).collect();
    order
        .into_iter()
        .filter_map(|i| slots[i as usize].take())
        .collect()
}

/// Commits reachable from `tips` and not from `hide`, oldest first (by
/// commit time, parents before children on ties).
pub(super) fn oldest_first(
    repo: &Repository,
    tips: impl Iterator<Item = Oid>,
    hide: &[Oid],
) -> Result<Vec<Oid>, git2::Error> {
    let mut walk = repo.revwalk()?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::TIME | Sort::REVERSE)?;
    for t in tips {
        walk.push(t)?;
    }
    for h in hide {
        walk.hide(*h)?;
    }
    walk.collect()
}

pub(super) fn head_ref_name(repo: &Repository) -> String {
    repo.head()
        .ok()
        .and_then(|h| h.name().map(str::to_string))
        .unwrap_or_else(|| "HEAD".into())
}

/// Tips of every local branch and remote-tracking ref that does not point
/// at `tip` itself (nor is the current branch).
pub(super) fn other_branch_tips(repo: &Repository, tip: Oid) -> Vec<Oid> {
    let head = head_ref_name(repo);
    let mut out = Vec::new();
    if let Ok(refs) = repo.references() {
        for r in refs.flatten() {
            let Some(name) = r.name() else { continue };
            if name == head
                || !(name.starts_with("refs/heads/") || name.starts_with("refs/remotes/"))
            {
                continue;
            }
            if let Ok(c) = r.peel_to_commit() {
                if c.id() != tip && !out.contains(&c.id()) {
                    out.push(c.id());
                }
            }
        }
    }
    out
}
