//! Kubeconfig files: which one a command reads and writes, as kubectl chooses them, and merging a cluster's context
//! into a user's file (`wctl up --write-kubeconfig`, k3s' flag).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use kube::config::Kubeconfig;

/// The kubeconfig a client verb uses: `--kubeconfig`, else the files in `$KUBECONFIG` merged, else
/// `~/.kube/config`.
pub fn load(path: Option<&Path>) -> anyhow::Result<Kubeconfig> {
    if let Some(path) = path {
        return Kubeconfig::read_from(path).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the kubeconfig {}: {}",
                path.display(),
                super::one_line(&e.to_string())
            )
        });
    }
    match Kubeconfig::from_env() {
        Ok(Some(config)) => return Ok(config),
        Ok(None) => {}
        Err(e) => bail!("cannot read the kubeconfig in $KUBECONFIG: {}", super::one_line(&e.to_string())),
    }
    let default = default_path()?;
    if !default.exists() {
        bail!(
            "no kubeconfig: pass --kubeconfig, set KUBECONFIG, or start a cluster with `wctl up --write-kubeconfig`"
        );
    }
    Kubeconfig::read_from(&default).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the kubeconfig {}: {}",
            default.display(),
            super::one_line(&e.to_string())
        )
    })
}

/// The file a command that changes the kubeconfig writes: `--kubeconfig`, else the first file in `$KUBECONFIG`,
/// else `~/.kube/config` (kubectl writes where the value it changes came from; for one file that is the same).
pub fn writable_path(path: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(path) = path {
        return Ok(path.to_path_buf());
    }
    if let Some(value) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&value).find(|p| !p.as_os_str().is_empty())
    {
        return Ok(first);
    }
    default_path()
}

/// `~/.kube/config`.
pub fn default_path() -> anyhow::Result<PathBuf> {
    dirs::home_dir()
        .map(|home| home.join(".kube").join("config"))
        .context("cannot find the home directory; pass --kubeconfig")
}

/// Reads one kubeconfig file for changing it; a missing file is an empty kubeconfig.
pub fn read_for_update(path: &Path) -> anyhow::Result<Kubeconfig> {
    if !path.exists() {
        return Ok(Kubeconfig {
            api_version: Some("v1".into()),
            kind: Some("Config".into()),
            ..Default::default()
        });
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Kubeconfig::from_yaml(&text).map_err(|e| {
        anyhow::anyhow!("{} is not a kubeconfig: {}", path.display(), super::one_line(&e.to_string()))
    })
}

/// Writes a kubeconfig readable only by its owner, atomically (a crash leaves the old file or the new one).
pub fn write(path: &Path, config: &Kubeconfig) -> anyhow::Result<()> {
    let text = serde_yaml::to_string(config).context("cannot encode the kubeconfig")?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let staged = path.with_extension("wctl-tmp");
    std::fs::write(&staged, text).with_context(|| format!("cannot write {}", staged.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("cannot restrict {}", staged.display()))?;
    }
    std::fs::rename(&staged, path).with_context(|| format!("cannot write {}", path.display()))
}

/// Puts every cluster, user and context of `incoming` into `target` under the names `incoming` gives them,
/// replacing entries of the same names, and makes `incoming`'s current context the current one.
pub fn merge_into(target: &mut Kubeconfig, incoming: Kubeconfig) {
    for cluster in incoming.clusters {
        target.clusters.retain(|c| c.name != cluster.name);
        target.clusters.push(cluster);
    }
    for user in incoming.auth_infos {
        target.auth_infos.retain(|u| u.name != user.name);
        target.auth_infos.push(user);
    }
    for context in incoming.contexts {
        target.contexts.retain(|c| c.name != context.name);
        target.contexts.push(context);
    }
    if incoming.current_context.is_some() {
        target.current_context = incoming.current_context;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(text).unwrap()
    }

    const GENERATED: &str = "apiVersion: v1\nkind: Config\nclusters:\n- name: wharf\n  cluster:\n    server: https://127.0.0.1:7000\ncontexts:\n- name: wharf\n  context:\n    cluster: wharf\n    user: wharf\n    namespace: default\ncurrent-context: wharf\nusers:\n- name: wharf\n  user:\n    token: abc\n";

    #[test]
    fn merging_keeps_other_clusters_and_replaces_its_own() {
        let mut target = config(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://prod:6443\n- name: dev\n  cluster:\n    server: https://old:1\ncontexts:\n- name: prod\n  context:\n    cluster: prod\n    user: prod\ncurrent-context: prod\nusers:\n- name: prod\n  user:\n    token: p\n",
        );
        let incoming = config(&GENERATED.replace("wharf", "dev"));
        merge_into(&mut target, incoming);
        let names: Vec<&str> = target.clusters.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["prod", "dev"]);
        let dev = target.clusters.iter().find(|c| c.name == "dev").unwrap();
        assert_eq!(dev.cluster.as_ref().unwrap().server.as_deref(), Some("https://127.0.0.1:7000"));
        assert_eq!(target.current_context.as_deref(), Some("dev"));
        assert_eq!(target.contexts.len(), 2);
        let context = target.contexts.iter().find(|c| c.name == "dev").unwrap().context.as_ref().unwrap();
        assert_eq!((context.cluster.as_str(), context.user.as_deref()), ("dev", Some("dev")));
    }

    #[test]
    fn written_files_round_trip_with_their_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/config");
        let mut target = read_for_update(&path).unwrap();
        merge_into(&mut target, config(GENERATED));
        write(&path, &target).unwrap();
        let back = Kubeconfig::read_from(&path).unwrap();
        assert_eq!(back.current_context.as_deref(), Some("wharf"));
        let token = back.auth_infos[0].auth_info.as_ref().unwrap().token.as_ref().unwrap();
        assert_eq!(secrecy::ExposeSecret::expose_secret(token), "abc");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
