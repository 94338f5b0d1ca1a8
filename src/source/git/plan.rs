//! Planning a history scan: which blobs to scan, each once, with the commit
//! and path that introduced it. The whole history walks every commit's tree
//! (each distinct tree once); `--since` takes what the commits of a range
//! add (only their added lines); `--staged` what the index changes. Jobs
//! stream to the workers as they are found.
use std::collections::HashMap;
use std::sync::Arc;

use git2::{Delta, ObjectType, Oid, Repository};

use super::commits::{
    commit_info, commit_reader, commits_oldest_first, head_blobs, head_ref_name, object_tips,
    oldest_first, other_branch_tips, read_commit, tips,
};
use super::options::{GitOptions, OidMap, OidSet};
use super::pack;
use crate::source::{display_path, CommitInfo, ScanError};

/// One blob to scan and where it first appeared.
pub(super) struct BlobJob {
    pub oid: Oid,
    pub path: String,
    pub commit: Option<Arc<CommitInfo>>,
    pub at_head: bool,
    /// Only these lines are new (see [`crate::source::Origin::lines`]).
    pub lines: Option<Arc<[u32]>>,
}

/// What planning found, besides the jobs it streamed to the workers.
pub(super) struct Plan<'a> {
    pub emit: &'a mut dyn FnMut(BlobJob),
    /// Told every so many commits, for progress.
    pub progress: &'a mut dyn FnMut(u64),
    pub problems: Vec<ScanError>,
    pub commits_walked: u64,
    pub blobs: u64,
    pub submodules: u64,
    pub known: Option<Arc<OidSet>>,
    /// Every blob the walk reached (`plan_all` only).
    pub reached: OidSet,
    /// The repository's packs, where this crate can read them itself.
    pub packs: Option<Arc<pack::Packs>>,
    /// When planning must stop (see [`GitOptions::deadline`]).
    pub deadline: Option<std::time::Instant>,
    pub timed_out: bool,
}

impl Plan<'_> {
    fn job(&mut self, job: BlobJob) {
        if self.known.as_ref().is_some_and(|k| k.contains(&job.oid)) {
            return;
        }
        self.blobs += 1;
        (self.emit)(job);
    }

    /// Whether the time budget ran out (reported once, as an error).
    pub(super) fn out_of_time(&mut self, root: &str) -> bool {
        let over = self.deadline.is_some_and(|d| std::time::Instant::now() > d);
        if over && !self.timed_out {
            self.timed_out = true;
            self.problems.push(ScanError::error(
                root,
                format!(
                    "time budget exceeded after {} commits: the rest of the history was not scanned",
                    self.commits_walked
                ),
            ));
        }
        over
    }

    fn commit_done(&mut self) {
        self.commits_walked += 1;
        if self.commits_walked.is_multiple_of(256) {
            (self.progress)(256);
        }
    }
}

pub(super) fn plan_all(repo: &Repository, opts: &GitOptions, plan: &mut Plan) {
    let root = repo_name(repo);
    let tips = tips(repo, opts.refs.as_ref(), &mut plan.problems, &root);
    if tips.is_empty() {
        return; // no commits yet, or no ref matched
    }
    let at_head = head_blobs(repo);
    let mut seen = Seen {
        trees: OidSet::default(),
        blobs: std::mem::take(&mut plan.reached),
        last: HashMap::new(),
        packs: plan.packs.clone().map(pack::Reader::new),
    };
    let mut visit = |info: CommitInfo, tree: Oid, plan: &mut Plan| {
        plan.commit_done();
        let info = Arc::new(info);
        let mut prefix = Vec::new();
        walk_tree(
            repo,
            tree,
            &mut prefix,
            &mut seen,
            Some(&info),
            &at_head,
            plan,
        );
    };
    if opts.hide.is_empty() {
        // The whole history: each commit read once, ordered here.
        let packs = plan.packs.clone();
        for c in commits_oldest_first(repo, packs, &tips, &mut plan.problems, &root) {
            if plan.out_of_time(&root) {
                break;
            }
            let refs = vec![tips[(c.label as usize).min(tips.len() - 1)].0.clone()];
            visit(
                commit_info(c.oid, c.author.to_string(), c.time, refs),
                c.tree,
                plan,
            );
        }
        tagged_objects(repo, opts, &mut seen, &at_head, plan);
        plan.reached = seen.blobs;
        return;
    }
    // Incremental (a sweep): libgit2's walk knows how far to mark the
    // hidden history without reading all of it.
    // Each commit is labelled with the first ref (in the order above) that
    // reaches it: walk each tip, hiding the tips before it.
    let mut ref_of: OidMap<u32> = OidMap::default();
    // With one ref, it reaches every commit: no labelling walks needed.
    let labelled = if tips.len() > 1 { &tips[..] } else { &[] };
    for (i, (name, tip)) in labelled.iter().enumerate() {
        let mut hide: Vec<Oid> = tips[..i].iter().map(|t| t.1).collect();
        hide.extend_from_slice(&opts.hide);
        match oldest_first(repo, std::iter::once(*tip), &hide) {
            Ok(commits) => {
                for c in commits {
                    ref_of.entry(c).or_insert(i as u32);
                }
            }
            Err(e) => plan.problems.push(ScanError::error(
                &root,
                format!("cannot walk {name}: {}", e.message()),
            )),
        }
    }
    let order = match oldest_first(repo, tips.iter().map(|t| t.1), &opts.hide) {
        Ok(o) => o,
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!("cannot walk history: {}", e.message()),
            ));
            return;
        }
    };
    let mut reader = commit_reader(repo, plan.packs.clone());
    let mut raw = Vec::new();
    for oid in order {
        if plan.out_of_time(&root) {
            break;
        }
        let refs = vec![tips[ref_of.get(&oid).copied().unwrap_or(0) as usize]
            .0
            .clone()];
        match read_commit(repo, reader.as_mut(), &mut raw, oid) {
            Ok(c) => visit(commit_info(oid, c.who, c.time, refs), c.tree, plan),
            Err(e) => plan.problems.push(ScanError::error(
                &root,
                format!("commit {oid} is missing or corrupt: {}", e.message()),
            )),
        }
    }
    tagged_objects(repo, opts, &mut seen, &at_head, plan);
    plan.reached = seen.blobs;
}

/// The blobs and trees that refs point at directly (a tag of a file or a
/// directory, annotated or not): no commit reaches them, so they are
/// planned here, each under its ref's name, with no commit.
fn tagged_objects(
    repo: &Repository,
    opts: &GitOptions,
    seen: &mut Seen,
    at_head: &OidSet,
    plan: &mut Plan,
) {
    for (name, oid, is_tree) in object_tips(repo, opts.refs.as_ref()) {
        let mut prefix = name.into_bytes();
        if is_tree {
            walk_tree(repo, oid, &mut prefix, seen, None, at_head, plan);
        } else if seen.blobs.insert(oid) {
            plan.job(BlobJob {
                oid,
                path: String::from_utf8_lossy(&prefix).into_owned(),
                commit: None,
                at_head: at_head.contains(&oid),
                lines: None,
            });
        }
    }
}

/// What the walk has been through.
struct Seen {
    trees: OidSet,
    blobs: OidSet,
    /// Directory path → the entries of the tree last walked there. A new
    /// version of a directory mostly repeats them, at the same places: an
    /// entry equal to its predecessor's was handled with it, and costs one
    /// comparison instead of a set lookup.
    last: HashMap<Vec<u8>, Vec<(Oid, pack::Kind)>>,
    /// Trees from the pack files, where it can read them.
    packs: Option<pack::Reader>,
}

fn walk_tree(
    repo: &Repository,
    tree_id: Oid,
    prefix: &mut Vec<u8>,
    seen: &mut Seen,
    commit: Option<&Arc<CommitInfo>>,
    at_head: &OidSet,
    plan: &mut Plan,
) {
    if !seen.trees.insert(tree_id) {
        return;
    }
    // From the packs directly where the reader is sure of the tree, else
    // through libgit2, which says what is wrong with it if anything is.
    let fast = seen.packs.as_mut().and_then(|p| p.tree(tree_id));
    let parsed = fast
        .as_deref()
        .and_then(|raw| pack::entries(raw).collect::<Option<Vec<_>>>());
    let fallback;
    let list = match parsed {
        Some(list) => list,
        None => match repo.find_tree(tree_id) {
            Ok(t) => {
                fallback = raw_tree(&t);
                pack::entries(&fallback).flatten().collect()
            }
            Err(e) => {
                let path = String::from_utf8_lossy(prefix).into_owned();
                plan.problems.push(ScanError::error(
                    if path.is_empty() {
                        repo_name(repo)
                    } else {
                        path
                    },
                    format!("git tree {tree_id} is missing or corrupt: {}", e.message()),
                ));
                return;
            }
        },
    };
    let before = seen.last.remove(prefix.as_slice()).unwrap_or_default();
    let mut now = Vec::with_capacity(list.len());
    for (i, (name, id, kind)) in list.into_iter().enumerate() {
        now.push((id, kind));
        if before.get(i) == Some(&(id, kind)) {
            continue; // seen, with the directory's previous version
        }
        let len = prefix.len();
        if len > 0 {
            prefix.push(b'/');
        }
        prefix.extend_from_slice(name);
        match kind {
            pack::Kind::Tree => walk_tree(repo, id, prefix, seen, commit, at_head, plan),
            pack::Kind::Blob if seen.blobs.insert(id) => {
                plan.job(BlobJob {
                    oid: id,
                    path: String::from_utf8_lossy(prefix).into_owned(),
                    commit: commit.cloned(),
                    at_head: at_head.contains(&id),
                    lines: None,
                });
            }
            // A submodule's gitlink: its history is its own repository's.
            pack::Kind::Gitlink => plan.submodules += 1,
            pack::Kind::Blob => {}
        }
        prefix.truncate(len);
    }
    seen.last.insert(prefix.clone(), now);
}

/// A tree libgit2 read, in git's raw form (mode, name, id), its modes
/// reduced to the three kinds the walk tells apart.
fn raw_tree(tree: &git2::Tree) -> Vec<u8> {
    let mut raw = Vec::new();
    for e in tree.iter() {
        let mode: &[u8] = match e.kind() {
            Some(ObjectType::Tree) => b"40000",
            Some(ObjectType::Commit) => b"160000",
            _ => b"100644",
        };
        raw.extend_from_slice(mode);
        raw.push(b' ');
        raw.extend_from_slice(e.name_bytes());
        raw.push(0);
        raw.extend_from_slice(e.id().as_bytes());
    }
    raw
}

fn repo_name(repo: &Repository) -> String {
    display_path(repo.workdir().unwrap_or(repo.path()))
}

fn is_zero_rev(rev: &str) -> bool {
    !rev.is_empty() && rev.bytes().all(|b| b == b'0')
}

/// `--since`: blobs added by the commits of `since..until`.
pub(super) fn plan_range(repo: &Repository, since: &str, until: Option<&str>, plan: &mut Plan) {
    let root = repo_name(repo);
    let tip = match until {
        Some(u) => repo.revparse_single(u).and_then(|o| o.peel_to_commit()),
        None => repo.head().and_then(|h| h.peel_to_commit()),
    };
    let tip = match tip {
        Ok(c) => c.id(),
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!(
                    "cannot resolve {}: {}",
                    until.unwrap_or("HEAD"),
                    e.message()
                ),
            ));
            return;
        }
    };
    let hide: Vec<Oid> = match repo.revparse_single(since).and_then(|o| o.peel_to_commit()) {
        Ok(c) if !is_zero_rev(since) => vec![c.id()],
        _ => {
            // A new branch (the all-zero "before" of a push) or a revision
            // this clone does not have: scan what no other branch has.
            let others = other_branch_tips(repo, tip);
            let shallow = if repo.is_shallow() && !is_zero_rev(since) {
                " (this clone is shallow: fetch the whole history, e.g. `fetch-depth: 0` \
                 with actions/checkout or `GIT_DEPTH: 0` in GitLab CI, so that it is found)"
            } else {
                ""
            };
            plan.problems.push(ScanError::warning(
                &root,
                format!(
                    "--since {since}: {}{shallow}; scanning the commits of {} that no other branch or remote-tracking ref reaches ({} refs excluded)",
                    if is_zero_rev(since) { "the zero revision (a new branch)" } else { "not found in this repository" },
                    until.unwrap_or("HEAD"),
                    others.len()
                ),
            ));
            others
        }
    };
    let order = match oldest_first(repo, std::iter::once(tip), &hide) {
        Ok(o) => o,
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!("cannot walk {since}..: {}", e.message()),
            ));
            return;
        }
    };
    let at_head = head_blobs(repo);
    let mut seen = OidSet::default();
    let reach = until.map_or_else(|| head_ref_name(repo), str::to_string);
    let mut reader = commit_reader(repo, plan.packs.clone());
    let mut raw = Vec::new();
    for oid in order {
        if plan.out_of_time(&root) {
            break;
        }
        plan.commit_done();
        let info = match read_commit(repo, reader.as_mut(), &mut raw, oid) {
            Ok(c) => commit_info(oid, c.who, c.time, vec![reach.clone()]),
            Err(e) => {
                plan.problems.push(ScanError::error(
                    &root,
                    format!("commit {oid}: {}", e.message()),
                ));
                continue;
            }
        };
        let info = Arc::new(info);
        match added_blobs(repo, oid) {
            Ok(blobs) => {
                for (blob, path, lines) in blobs {
                    if seen.insert(blob) {
                        plan.job(BlobJob {
                            oid: blob,
                            path,
                            commit: Some(info.clone()),
                            at_head: at_head.contains(&blob),
                            lines,
                        });
                    }
                }
            }
            Err(e) => plan.problems.push(ScanError::error(
                &root,
                format!("commit {oid}: {}", e.message()),
            )),
        }
    }
}

/// A blob that a diff adds or changes, with its path and, when it changes an
/// older blob, the numbers of the lines it adds.
type Added = (Oid, String, Option<Arc<[u32]>>);

/// The new-side blobs of a diff's additions and changes. For a changed file
/// only its added lines count: a deletion is never a finding, and an old
/// secret on an unchanged line was there before the range.
fn additions(diff: &git2::Diff) -> Vec<Added> {
    let mut out = Vec::new();
    for (i, d) in diff.deltas().enumerate() {
        if !matches!(
            d.status(),
            Delta::Added | Delta::Modified | Delta::Renamed | Delta::Copied | Delta::Typechange
        ) {
            continue;
        }
        let f = d.new_file();
        if f.mode() == git2::FileMode::Commit {
            continue; // a submodule's gitlink
        }
        let path = f
            .path_bytes()
            .map(|p| String::from_utf8_lossy(p).into_owned())
            .unwrap_or_default();
        let whole = d.status() == Delta::Added || d.old_file().id().is_zero();
        let lines = if whole { None } else { added_lines(diff, i) };
        out.push((f.id(), path, lines));
    }
    out
}

/// Added line numbers of delta `i`; `None` (scan it all) when the patch
/// cannot be made, e.g. for a binary file.
fn added_lines(diff: &git2::Diff, i: usize) -> Option<Arc<[u32]>> {
    let patch = git2::Patch::from_diff(diff, i).ok()??;
    let mut lines = Vec::new();
    for h in 0..patch.num_hunks() {
        for l in 0..patch.num_lines_in_hunk(h).ok()? {
            let line = patch.line_in_hunk(h, l).ok()?;
            if line.origin() == '+' {
                lines.extend(line.new_lineno());
            }
        }
    }
    lines.sort_unstable();
    Some(lines.into())
}

/// Blobs a commit adds or changes relative to its parents: all of a root
/// commit's, a normal commit's diff against its parent, and for a merge only
/// what is new against every parent (its conflict resolutions).
fn added_blobs(repo: &Repository, oid: Oid) -> Result<Vec<Added>, git2::Error> {
    let commit = repo.find_commit(oid)?;
    let tree = commit.tree()?;
    let parents: Vec<_> = commit.parents().collect();
    let against = |parent: Option<&git2::Tree>| -> Result<Vec<Added>, git2::Error> {
        Ok(additions(&repo.diff_tree_to_tree(
            parent,
            Some(&tree),
            None,
        )?))
    };
    if parents.is_empty() {
        return against(None);
    }
    let mut result = against(Some(&parents[0].tree()?))?;
    for p in &parents[1..] {
        let other: OidSet = against(Some(&p.tree()?))?
            .into_iter()
            .map(|x| x.0)
            .collect();
        result.retain(|(o, _, _)| other.contains(o));
    }
    Ok(result)
}

/// `--staged`: blobs in the index that differ from HEAD's tree.
pub(super) fn plan_staged(repo: &Repository, plan: &mut Plan) {
    let root = repo_name(repo);
    let index = match repo.index() {
        Ok(i) => i,
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!("cannot read the index: {}", e.message()),
            ));
            return;
        }
    };
    let head = repo.head().and_then(|h| h.peel_to_tree()).ok();
    let diff = match repo.diff_tree_to_index(head.as_ref(), Some(&index), None) {
        Ok(d) => d,
        Err(e) => {
            plan.problems.push(ScanError::error(
                &root,
                format!("cannot diff the index: {}", e.message()),
            ));
            return;
        }
    };
    for (oid, path, lines) in additions(&diff) {
        plan.job(BlobJob {
            oid,
            path,
            commit: None,
            at_head: false,
            lines,
        });
    }
}
