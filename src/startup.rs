//! Building the application from a configuration: database, guides, router, listener.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::store::SessionTimeouts;
use crate::auth::{AuthService, Policy};
use crate::cases::{CaseService, PhotoStore};
use crate::config::Config;
use crate::content::images::GuideImageStore;
use crate::content::{Guides, Library};
use crate::db;
use crate::search::{IndexDoc, OpenOutcome, SearchIndex};
use crate::web::{self, AppState};

pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    pub state: AppState,
    /// The first-run link, when there is no admin yet.
    pub setup_url: Option<String>,
}

/// Loads and checks the guides; a broken content folder stops start-up with every fault listed.
pub fn load_library(config: &Config) -> anyhow::Result<Library> {
    Library::load(&config.content_dir).with_context(|| {
        format!(
            "refusing to start: the content folder {} has faults",
            config.content_dir.display()
        )
    })
}

/// The guides from the database, after importing what changed in the content folder. On a
/// first start a broken content folder stops start-up with every fault listed.
pub async fn open_guides(config: &Config, db: &db::Db) -> anyhow::Result<Guides> {
    Guides::open(db.clone(), &config.content_dir)
        .await
        .with_context(|| {
            format!(
                "refusing to start: the guides in {} cannot be loaded",
                config.content_dir.display()
            )
        })
}

/// Stores the image files of `content/images/` the way uploads are stored (checked, re-encoded,
/// by hash). A refused file is logged and skipped: a bad screenshot must not stop the plant's
/// guides from being served.
async fn import_guide_images(store: &GuideImageStore, content_dir: &std::path::Path) {
    let store = store.clone();
    let dir = content_dir.join(crate::content::images::CONTENT_FOLDER);
    match tokio::task::spawn_blocking(move || store.import_dir(&dir)).await {
        Ok(Ok(report)) => {
            for (file, why) in &report.refused {
                tracing::warn!(file = %file, reason = %why, "an image in the content folder was not imported");
            }
            if !report.stored.is_empty() {
                tracing::info!(
                    images = report.stored.len(),
                    "guide images imported from the content folder"
                );
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot read the content folder's images"),
        Err(e) => tracing::warn!(error = %e, "importing the content folder's images stopped"),
    }
}

/// Re-indexes the guides whenever they change (a save, a restore, an imported file).
fn keep_index_in_step(guides: &Guides, search: &SearchIndex) {
    let mut changes = guides.subscribe();
    let (guides, search) = (guides.clone(), search.clone());
    tokio::spawn(async move {
        while changes.changed().await.is_ok() {
            let library = guides.current();
            let index = search.clone();
            match tokio::task::spawn_blocking(move || index.replace_guides_blocking(&library)).await
            {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "re-indexing the changed guides failed"),
                Err(e) => tracing::error!(error = %e, "re-indexing the changed guides stopped"),
            }
        }
    });
}

/// Catches up with what other nodes changed while this one was down, then follows them.
async fn follow_other_nodes(
    config: &Config,
    db: &db::Db,
    cases: &CaseService,
    guides: &Guides,
    feed_start: i64,
) -> anyhow::Result<()> {
    let index_dir = config.index_dir();
    let (from, reindex_all) = crate::follow::starting_point(db, &index_dir, feed_start).await?;
    if reindex_all {
        let docs = case_docs(&guides.current(), db).await?;
        let index = cases.search.clone();
        tokio::task::spawn_blocking(move || index.replace_cases_blocking(docs)).await??;
        tracing::warn!(
            "this node was away longer than the change feed reaches back: re-indexed every case"
        );
    }
    crate::follow::Follower::new(
        db.clone(),
        cases.clone(),
        guides.clone(),
        index_dir,
        crate::follow::FollowState::default(),
    )
    .start(from)
    .await?;
    Ok(())
}

/// Every case as the index holds it.
pub async fn case_docs(library: &Library, db: &db::Db) -> anyhow::Result<Vec<IndexDoc>> {
    Ok(crate::cases::store::all(db)
        .await?
        .iter()
        .map(|c| c.index_doc(library))
        .collect())
}

/// Everything the index holds, read from the guides and the database.
pub async fn all_index_docs(library: &Library, db: &db::Db) -> anyhow::Result<Vec<IndexDoc>> {
    Ok(crate::search::documents(
        library,
        case_docs(library, db).await?,
    ))
}

/// Opens the search index, rebuilding it when it is missing, corrupt, old or behind the guides.
pub async fn open_search_index(
    config: &Config,
    library: Arc<Library>,
    db: db::Db,
) -> anyhow::Result<SearchIndex> {
    let dir = config.index_dir();
    let (library_for_lag, db_for_lag) = (library.clone(), db.clone());
    let handle = tokio::runtime::Handle::current();
    let (index, outcome) = tokio::task::spawn_blocking(move || {
        // Cases are read from the database only when the index must be rebuilt.
        let cases = || match handle.block_on(case_docs(&library, &db)) {
            Ok(docs) => docs,
            Err(e) => {
                tracing::error!("cannot read cases to index them: {e:#}");
                Vec::new()
            }
        };
        SearchIndex::open_or_rebuild(&dir, &library, cases)
    })
    .await??;
    // A filing whose commit landed but whose index write did not (a crash between them, a full
    // disk) leaves the index behind the database; catch up before serving.
    if !matches!(outcome, OpenOutcome::Rebuilt(_)) {
        let stored = crate::cases::store::count_all(&db_for_lag).await?;
        let indexed = index.num_case_docs();
        if u64::try_from(stored).unwrap_or(0) != indexed {
            let docs = case_docs(&library_for_lag, &db_for_lag).await?;
            let catchup = index.clone();
            tokio::task::spawn_blocking(move || catchup.replace_cases_blocking(docs)).await??;
            tracing::warn!(
                stored,
                indexed,
                "the index was behind the database: re-indexed every case"
            );
        }
    }
    match outcome {
        OpenOutcome::UpToDate => {
            tracing::info!(docs = index.num_docs(), "search index is up to date")
        }
        OpenOutcome::GuidesReindexed => {
            tracing::info!(
                docs = index.num_docs(),
                "guides changed since the last start: re-indexed them"
            )
        }
        OpenOutcome::Rebuilt(why) => {
            tracing::warn!(docs = index.num_docs(), "rebuilt the search index: {why}")
        }
    }
    Ok(index)
}

/// Fails at start, with the folder named, when the data folder takes no writes: better than a
/// server that answers every filing with an error.
fn check_writable(dir: &std::path::Path) -> anyhow::Result<()> {
    let probe = dir.join(".faultbook-write-check");
    let written = std::fs::write(&probe, b"ok").and_then(|()| std::fs::remove_file(&probe));
    match written {
        Ok(()) => Ok(()),
        Err(e) => {
            let why = match db::write_fault(&e) {
                Some(db::WriteFault::ReadOnly) => "it is read-only",
                Some(db::WriteFault::DiskFull) => "its disk is full",
                None => "it refuses writes",
            };
            anyhow::bail!(
                "refusing to start: the data folder {} cannot be written ({why}: {e}); faultbook keeps its database, index and photos there",
                dir.display()
            )
        }
    }
}

impl Application {
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        std::fs::create_dir_all(&config.data_dir).with_context(|| {
            format!(
                "cannot create the data folder {}",
                config.data_dir.display()
            )
        })?;
        // Installed before anything is counted: the recorder drops figures it was not there for.
        crate::telemetry::prometheus::handle();
        check_writable(&config.data_dir)?;
        let db = db::connect_with(&config.database_url(), config.ops.sqlite_synchronous)
            .await
            .context("cannot open the database")?;
        let guides = open_guides(&config, &db).await?;
        let library = guides.current();
        db::record_content_load(&db, &library.content_hash, library.all().len()).await?;
        let keyed = crate::cases::similar::backfill_keys(&db).await?;
        if keyed > 0 {
            tracing::info!(cases = keyed, "gave older cases their alarm key");
        }
        tracing::info!(guides = library.all().len(), hash = %&library.content_hash[..12], "guides loaded");

        // Read before the index opens: a node following the feed starts no later than this.
        let feed_start = db::changes::latest(&db).await?;
        let search = open_search_index(&config, library.clone(), db.clone()).await?;
        keep_index_in_step(&guides, &search);
        if config.watch_content {
            match guides.watch_folder() {
                Ok(_task) => {}
                Err(e) => {
                    tracing::warn!(error = %e, folder = %config.content_dir.display(), "cannot watch the content folder: changed files are imported at the next start")
                }
            }
        }
        let photos = PhotoStore::open(&config.photo_dir()).with_context(|| {
            format!(
                "cannot create the photo folder {}",
                config.photo_dir().display()
            )
        })?;
        let cases = CaseService::new(db.clone(), photos, search.clone(), guides.clone());
        let guide_images = GuideImageStore::open(&config.guide_image_dir())
            .context("cannot create the guide image folder")?
            .with_gate(cases.decodes.clone());
        import_guide_images(&guide_images, &config.content_dir).await;
        if db::Backend::of(&db) == db::Backend::Postgres {
            follow_other_nodes(&config, &db, &cases, &guides, feed_start).await?;
        }
        let removed = cases.clean_orphan_photos().await?;
        if removed > 0 {
            tracing::warn!(
                removed,
                "removed photo files that no case refers to (an interrupted filing)"
            );
        }

        if config.trust_proxy_header.is_some() && config.trusted_proxy.is_empty() {
            tracing::warn!("--trust-proxy-header is set but --trusted-proxy is empty: the header is ignored from every address");
        }
        let auth = AuthService::new(
            db.clone(),
            Policy {
                guides_public: config.guides_public,
                cases_public: config.cases_public,
                open_intake: config.open_intake.clone(),
            },
            SessionTimeouts {
                idle_secs: config.session_idle,
                absolute_secs: config.session_max,
            },
            config.write_limit,
        )
        .await?;
        let state = AppState {
            guides,
            search,
            cases,
            db,
            config: Arc::new(config.clone()),
            auth,
            hosts: Arc::new(config.served_hosts()),
            guide_images,
        };
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let local = listener.local_addr()?;
        let setup_url = match state.auth.offer_setup().await? {
            Some(secret) => {
                let base = config
                    .base_url
                    .clone()
                    .unwrap_or_else(|| format!("http://{local}"));
                let url = format!("{}/setup/{secret}", base.trim_end_matches('/'));
                // On the console on purpose: whoever can read it runs the server.
                println!(
                    "\nfaultbook has no admin yet. Create one within the hour at:\n\n    {url}\n\n(or run `faultbook user add NAME --role admin`)\n"
                );
                Some(url)
            }
            None => None,
        };
        Ok(Application {
            listener,
            router: web::router(state.clone()),
            state,
            setup_url,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let limits = self.state.config.connections.limits();
        let db = self.state.db.clone();
        let served =
            crate::server::serve(self.listener, self.router, limits, shutdown_signal()).await;
        // Closing the pool checkpoints the WAL, so the next start opens a tidy database.
        db.close().await;
        tracing::info!("stopped");
        served
    }
}

/// Ctrl-C, or SIGTERM from systemd or a container runtime.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::info!("shutting down: finishing the requests in flight");
}
