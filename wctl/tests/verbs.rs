//! Every client verb of `wctl` against a real `wctl up`, as a Kubernetes user would drive it, bad input included.

// A failed unwrap is a failed test, with its location; that is what tests want.
#![allow(clippy::unwrap_used)]

mod support;

use support::{Cluster, eventually, line_matching};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A namespace with a Deployment and an Indexed Job of three shards, all labelled `team=a`.
const APP: &str = "apiVersion: v1
kind: Namespace
metadata: {name: app, labels: {team: a}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: app, labels: {team: a}}
data: {GREETING: hello}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: app, labels: {team: a}}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: hello.wasm
        args: ['$(GREETING)', forever]
        envFrom: [{configMapRef: {name: settings}}]
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: app, labels: {team: a}}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      containers:
      - {name: agent, image: hello.wasm, args: [agent, forever]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: suite, namespace: app, labels: {team: a}}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      containers:
      - {name: tests, image: hello.wasm, args: ['shard $(JOB_COMPLETION_INDEX)']}
";

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// Waits for deploy/web's rollout, then lists its revisions from `rollout history`.
async fn rolled_out_revisions(cluster: &Cluster) -> Vec<String> {
    cluster.ok(&["rollout", "status", "deploy/web", "-n", "app", "--timeout", "60s"]).await;
    let history = cluster.ok(&["rollout", "history", "deploy/web", "-n", "app"]).await;
    assert!(history.starts_with("deployment.apps/web\nREVISION   CHANGE-CAUSE\n"), "{history}");
    history.lines().skip(2).filter_map(|l| l.split_whitespace().next()).map(str::to_owned).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_get_describe_logs_scale_and_rollouts() {
    let cluster = Cluster::up(&[]).await;
    let app = write(cluster.dir.path(), "app.yaml", APP);

    // apply: server-side, waiting until the Deployment is rolled out and the Job complete.
    let applied = cluster.ok(&["apply", "-f", &app, "--wait", "--timeout", "60s"]).await;
    for line in [
        "namespace/app serverside-applied",
        "deployment.apps/web serverside-applied",
        "job.batch/suite serverside-applied",
    ] {
        assert!(applied.contains(line), "{applied}");
    }
    assert!(applied.contains("deployment \"web\" successfully rolled out"), "{applied}");
    assert!(applied.contains("daemon set \"agent\" successfully rolled out"), "{applied}");
    assert!(applied.contains("job \"suite\" completed: 3 of 3 succeeded"), "{applied}");
    let again = cluster.ok(&["apply", "-f", &app, "--dry-run=server"]).await;
    assert!(again.contains("deployment.apps/web serverside-applied (server dry run)"), "{again}");

    // get: server-side Tables, short names, every output format.
    let pods = cluster.ok(&["get", "po", "-n", "app"]).await;
    assert!(pods.starts_with("NAME "), "{pods}");
    assert!(pods.contains("READY") && pods.contains("STATUS") && pods.contains("web-"), "{pods}");
    let wide = cluster.ok(&["-n", "app", "get", "deploy", "-o", "wide"]).await;
    assert!(wide.contains("SELECTOR") && wide.contains("app=web"), "{wide}");
    let ready =
        cluster.ok(&["get", "deploy/web", "-n", "app", "-o", "jsonpath={.status.readyReplicas}"]).await;
    assert_eq!(ready, "2");
    assert_eq!(
        cluster.ok(&["get", "deployments.apps", "-n", "app", "-o", "name"]).await,
        "deployment.apps/web\n"
    );
    let all = cluster.ok(&["get", "all", "-A"]).await;
    assert!(
        all.contains("NAMESPACE") && all.contains("deployment.apps/web") && all.contains("job.batch/suite"),
        "{all}"
    );
    let labelled = cluster.ok(&["get", "pods", "-n", "app", "-l", "app=web", "--show-labels"]).await;
    assert_eq!(labelled.lines().count(), 3, "{labelled}");
    assert!(labelled.lines().nth(1).unwrap().contains("app=web"), "{labelled}");
    let yaml = cluster.ok(&["get", "deploy", "web", "-n", "app", "-o", "yaml"]).await;
    let object: serde_json::Value = serde_yaml::from_str(&yaml).unwrap();
    assert_eq!((object["kind"].as_str(), object["spec"]["replicas"].as_i64()), (Some("Deployment"), Some(2)));
    let json = cluster
        .ok(&["get", "pods", "-n", "app", "-o", "json", "--field-selector", "status.phase=Succeeded"])
        .await;
    let list: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "the three shards");
    let columns = cluster
        .ok(&[
            "get",
            "pods",
            "-n",
            "app",
            "-l",
            "app=web",
            "-o",
            "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName",
        ])
        .await;
    assert!(
        columns.starts_with("NAME") && columns.lines().skip(1).all(|l| l.ends_with("local")),
        "{columns}"
    );

    // describe: identity, conditions and events.
    let described = cluster.ok(&["describe", "deploy/web", "-n", "app"]).await;
    for part in
        ["Name:           web", "Namespace:      app", "Conditions:", "Available", "ScalingReplicaSet"]
    {
        assert!(described.contains(part), "{part}: {described}");
    }
    let pod_name = cluster
        .ok(&["get", "pods", "-n", "app", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"])
        .await;
    let pod = cluster.ok(&["describe", "pod", &pod_name, "-n", "app"]).await;
    assert!(pod.contains("Controlled By:  ReplicaSet/web-"), "{pod}");

    // logs: one pod plain, a workload's pods with prefixes, every shard of an Indexed Job with its index.
    let one = cluster.ok(&["logs", &pod_name, "-n", "app"]).await;
    assert!(one.starts_with("args: hello hello forever\n"), "{one}");
    let tail = cluster.ok(&["logs", "-n", "app", "deploy/web", "--tail", "1"]).await;
    assert_eq!(tail.lines().count(), 2, "{tail}");
    assert!(tail.lines().all(|l| l.starts_with("[pod/web-")), "{tail}");
    let shards = cluster.ok(&["logs", "-n", "app", "job/suite"]).await;
    for index in 0..3 {
        let line = format!(" index={index}] shard {index}");
        assert!(
            shards.lines().any(|l| l.starts_with(&format!("[pod/suite-{index}-")) && l.ends_with(&line)),
            "{shards}"
        );
    }
    let stamped = cluster.ok(&["logs", &pod_name, "-n", "app", "--timestamps", "--tail", "1"]).await;
    assert!(
        stamped.trim().split_once(' ').is_some_and(|(t, _)| t.parse::<jiff::Timestamp>().is_ok()),
        "{stamped}"
    );

    // logs -f over a selector follows pods that appear later.
    let mut follow = cluster.spawn(&["logs", "-f", "-n", "app", "-l", "app=web"]);
    let mut lines = BufReader::new(follow.stdout.take().unwrap()).lines();
    line_matching(&mut lines, |l| l.starts_with("[pod/web-")).await;

    // scale, then rollout status, restart, history, undo, pause and resume.
    let before = cluster.ok(&["get", "pods", "-n", "app", "-l", "app=web", "-o", "name"]).await;
    let known: Vec<String> = before.lines().map(|n| n.trim_start_matches("pod/").to_owned()).collect();
    assert_eq!(
        cluster.ok(&["scale", "-n", "app", "deploy/web", "--replicas", "3"]).await,
        "deployment.apps/web scaled\n"
    );
    let status = cluster.ok(&["rollout", "status", "-n", "app", "deploy/web", "--timeout", "60s"]).await;
    assert!(status.ends_with("deployment \"web\" successfully rolled out\n"), "{status}");
    let names = cluster.ok(&["get", "pods", "-n", "app", "-l", "app=web", "-o", "name"]).await;
    assert_eq!(names.lines().count(), 3, "{names}");
    let newcomer =
        line_matching(&mut lines, |l| known.iter().all(|k| !l.starts_with(&format!("[pod/{k}]")))).await;
    assert!(newcomer.starts_with("[pod/web-"), "{newcomer}");
    drop(follow);

    cluster.ok(&["scale", "-n", "app", "deploy/web", "--replicas", "3", "--current-replicas", "3"]).await;
    let refused = cluster
        .fails(&["scale", "-n", "app", "deploy/web", "--replicas", "1", "--current-replicas", "7"])
        .await;
    assert!(refused.contains("has 3 replicas, not 7"), "{refused}");
    assert_eq!(
        cluster.ok(&["rollout", "restart", "deploy/web", "-n", "app"]).await,
        "deployment.apps/web restarted\n"
    );
    assert_eq!(rolled_out_revisions(&cluster).await, ["1", "2"]);
    let revision = cluster.ok(&["rollout", "history", "deploy/web", "-n", "app", "--revision", "2"]).await;
    assert!(revision.contains("kubectl.kubernetes.io/restartedAt"), "{revision}");
    assert_eq!(
        cluster.ok(&["rollout", "undo", "deploy/web", "-n", "app"]).await,
        "deployment.apps/web rolled back\n"
    );
    assert_eq!(rolled_out_revisions(&cluster).await, ["2", "3"], "revision 1 came back as 3");
    cluster.ok(&["rollout", "restart", "ds/agent", "-n", "app"]).await;
    let daemons = cluster.ok(&["rollout", "status", "ds/agent", "-n", "app", "--timeout", "60s"]).await;
    assert!(daemons.ends_with("daemon set \"agent\" successfully rolled out\n"), "{daemons}");
    let since = cluster.ok(&["logs", "ds/agent", "-n", "app", "-c", "agent", "--since", "1h"]).await;
    assert!(since.contains("] args: hello agent forever"), "{since}");
    cluster.ok(&["rollout", "pause", "deploy/web", "-n", "app"]).await;
    let paused = cluster.fails(&["rollout", "undo", "deploy/web", "-n", "app"]).await;
    assert!(paused.contains("paused"), "{paused}");
    cluster.ok(&["rollout", "resume", "deploy/web", "-n", "app"]).await;

    // top and events.
    let top = eventually("pod usage", || async {
        let run = cluster.wctl(&["top", "pods", "-n", "app"]).await;
        (run.ok && run.stdout.contains("web-")).then_some(run.stdout)
    })
    .await;
    assert!(top.starts_with("NAME") && top.contains("CPU(cores)") && top.contains("MEMORY(bytes)"), "{top}");
    let nodes = cluster.ok(&["top", "nodes"]).await;
    assert!(nodes.lines().nth(1).is_some_and(|l| l.starts_with("local ")), "{nodes}");
    let events = cluster.ok(&["events", "-n", "app", "--for", "deploy/web"]).await;
    assert!(events.starts_with("LAST SEEN") && events.contains("ScalingReplicaSet"), "{events}");

    // --prune deletes what an earlier apply made with the label and the manifests no longer have.
    let without_job = APP.split("\n---\n").take(4).collect::<Vec<_>>().join("\n---\n");
    let smaller = write(cluster.dir.path(), "smaller.yaml", &without_job);
    let pruned = cluster.ok(&["apply", "-f", &smaller, "--prune", "-l", "team=a"]).await;
    assert!(pruned.contains("job.batch/suite pruned"), "{pruned}");
    assert!(!pruned.contains("deployment.apps/web pruned"), "{pruned}");
    cluster.fails(&["get", "job", "suite", "-n", "app"]).await;

    // delete -f removes what a manifest describes.
    let deleted = cluster.ok(&["delete", "-f", &smaller]).await;
    assert!(
        deleted.contains("namespace \"app\" deleted") && deleted.contains("daemonset.apps \"agent\" deleted"),
        "{deleted}"
    );
    cluster.fails(&["get", "ns", "app"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn create_run_wait_delete_and_the_rest() {
    let cluster = Cluster::up(&[]).await;
    let dir = cluster.dir.path();

    // create, and wait for what it made.
    assert_eq!(cluster.ok(&["create", "namespace", "ci"]).await, "namespace/ci created\n");
    let file = write(dir, "settings.toml", "level = 3\n");
    cluster
        .ok(&["create", "configmap", "cfg", "-n", "ci", "--from-literal", "A=1", "--from-file", &file])
        .await;
    assert_eq!(
        cluster
            .ok(&["get", "cm", "cfg", "-n", "ci", "-o", "jsonpath={.data.A} {.data.settings\\.toml}"])
            .await,
        "1 level = 3\n"
    );
    cluster.ok(&["create", "secret", "generic", "db", "-n", "ci", "--from-literal", "password=s3cret"]).await;
    let secret = cluster.ok(&["get", "secret", "db", "-n", "ci", "-o", "jsonpath={.data.password}"]).await;
    assert_eq!(secret, "czNjcmV0", "base64 of s3cret");
    let printed = cluster
        .ok(&[
            "create",
            "deployment",
            "echo",
            "-n",
            "ci",
            "--image",
            "hello.wasm",
            "--dry-run=client",
            "-o",
            "yaml",
            "--",
            "x",
        ])
        .await;
    assert!(printed.contains("kind: Deployment") && printed.contains("- x"), "{printed}");
    cluster.fails(&["get", "deploy", "echo", "-n", "ci"]).await;
    cluster
        .ok(&[
            "create",
            "deployment",
            "echo",
            "-n",
            "ci",
            "--image",
            "hello.wasm",
            "--replicas",
            "2",
            "--",
            "hi",
            "forever",
        ])
        .await;
    let met = cluster
        .ok(&["wait", "-n", "ci", "deploy/echo", "--for", "condition=Available", "--timeout", "60s"])
        .await;
    assert_eq!(met, "deployment.apps/echo condition met\n");
    cluster.ok(&["create", "job", "once", "-n", "ci", "--image", "hello.wasm", "--", "done"]).await;
    cluster.ok(&["wait", "job/once", "-n", "ci", "--for", "condition=Complete", "--timeout", "60s"]).await;
    let phases = cluster
        .ok(&["wait", "pods", "-n", "ci", "-l", "app=echo", "--for", "jsonpath={.status.phase}=Running"])
        .await;
    assert_eq!(phases.lines().count(), 2, "{phases}");
    let timed_out = cluster
        .fails(&["wait", "job/once", "-n", "ci", "--for", "condition=Failed", "--timeout", "1s"])
        .await;
    assert!(timed_out.contains("timed out"), "{timed_out}");

    // run: attached, the guest's output and exit code are wctl's; --rm deletes the pod.
    let hello = support::hello_wasm().display().to_string();
    let failed =
        cluster.wctl(&["run", "t", "-n", "ci", "--image", &hello, "--rm", "--", "out", "exit:3"]).await;
    assert_eq!(failed.code, Some(3), "{failed:?}");
    assert!(failed.stdout.contains("\nout\n"), "{failed:?}");
    cluster.ok(&["wait", "pod/t", "-n", "ci", "--for", "delete"]).await;
    let succeeded =
        cluster.ok(&["run", "fine", "-n", "ci", "--image", "hello.wasm", "--rm", "--", "all", "good"]).await;
    assert!(succeeded.ends_with("all\ngood\n"), "{succeeded}");
    assert_eq!(
        cluster.ok(&["run", "bg", "-n", "ci", "--image", "hello.wasm", "--", "forever"]).await,
        "pod/bg created\n"
    );

    // get -w prints each change after the list.
    let mut watch = cluster.spawn(&["get", "pods", "-n", "ci", "-w"]);
    let mut lines = BufReader::new(watch.stdout.take().unwrap()).lines();
    line_matching(&mut lines, |l| l.starts_with("NAME")).await;
    cluster.ok(&["run", "late", "-n", "ci", "--image", "hello.wasm", "--", "forever"]).await;
    line_matching(&mut lines, |l| l.starts_with("late ")).await;
    drop(watch);

    // delete by name, by label, every object of a type, and a whole namespace; --wait waits until they are gone.
    assert_eq!(
        cluster.ok(&["delete", "pod", "bg", "late", "-n", "ci"]).await,
        "pod \"bg\" deleted\npod \"late\" deleted\n"
    );
    cluster.ok(&["delete", "deploy/echo", "-n", "ci", "--cascade=orphan"]).await;
    let orphans = cluster.ok(&["get", "rs", "-n", "ci", "-o", "name"]).await;
    assert!(orphans.starts_with("replicaset.apps/echo-"), "orphaned ReplicaSets stay: {orphans}");
    cluster.ok(&["delete", "rs", "--all", "-n", "ci"]).await;
    cluster.ok(&["delete", "pods", "-n", "ci", "-l", "app=echo"]).await;
    let missing = cluster.fails(&["delete", "pod", "nosuch", "-n", "ci"]).await;
    assert_eq!(missing, "error: pods \"nosuch\" not found");
    cluster.ok(&["delete", "pod", "nosuch", "-n", "ci", "--ignore-not-found"]).await;
    assert_eq!(cluster.ok(&["delete", "namespace", "ci"]).await, "namespace \"ci\" deleted\n");
    let gone = cluster.fails(&["get", "ns", "ci"]).await;
    assert_eq!(gone, "error: namespaces \"ci\" not found");

    // version, config and completion.
    let version = cluster.ok(&["version"]).await;
    assert!(version.starts_with("Client Version: v") && version.contains("Server Version: v1."), "{version}");
    let contexts = cluster.ok(&["config", "get-contexts"]).await;
    assert!(contexts.lines().nth(1).is_some_and(|l| l.starts_with('*') && l.contains("wharf")), "{contexts}");
    let view = cluster.ok(&["config", "view"]).await;
    assert!(view.contains("DATA+OMITTED") && !view.contains("BEGIN"), "{view}");
    cluster.ok(&["config", "set-context", "--current", "--namespace", "kube-system"]).await;
    cluster.ok(&["create", "configmap", "probe", "--from-literal", "a=1"]).await;
    cluster.ok(&["get", "cm", "probe", "-n", "kube-system"]).await;
    assert_eq!(cluster.ok(&["config", "current-context"]).await, "wharf\n");
    cluster.fails(&["config", "use-context", "nowhere"]).await;
    assert_eq!(cluster.ok(&["config", "use-context", "wharf"]).await, "Switched to context \"wharf\".\n");
    for shell in ["bash", "zsh", "fish"] {
        assert!(cluster.ok(&["completion", shell]).await.contains("wctl"), "{shell}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_suite_sharded_across_two_nodes_reports_every_shard_and_its_exit() {
    let cluster = Cluster::up(&[]).await;
    let far_dir = cluster.dir.path().join("far");
    std::fs::create_dir_all(far_dir.join("images")).unwrap();
    std::fs::copy(support::hello_wasm(), far_dir.join("images/hello.wasm")).unwrap();
    let kubeconfig = cluster.kubeconfig().display().to_string();
    let far_data = far_dir.display().to_string();
    let far = [
        "node",
        "--kubeconfig",
        &kubeconfig,
        "--node-name",
        "far",
        "--node-ip",
        "127.0.0.2",
        "--data-dir",
        &far_data,
    ];
    let _far = cluster.spawn(&far);
    assert_eq!(
        cluster.ok(&["wait", "node/far", "--for", "create", "--timeout", "60s"]).await,
        "node/far created\n"
    );
    cluster.ok(&["wait", "node/far", "--for", "condition=Ready", "--timeout", "60s"]).await;

    // Two shards that may not share a node: one runs on each.
    let suite = write(
        cluster.dir.path(),
        "suite.yaml",
        "apiVersion: batch/v1
kind: Job
metadata: {name: suite}
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  template:
    metadata: {labels: {app: suite}}
    spec:
      restartPolicy: Never
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - {labelSelector: {matchLabels: {app: suite}}, topologyKey: kubernetes.io/hostname}
      containers:
      - name: tests
        image: hello.wasm
        args: ['shard $(JOB_COMPLETION_INDEX) on $(NODE)']
        env: [{name: NODE, valueFrom: {fieldRef: {fieldPath: spec.nodeName}}}]
",
    );
    let applied = cluster.ok(&["apply", "-f", &suite, "--wait", "--timeout", "90s"]).await;
    assert!(applied.contains("job \"suite\" completed: 2 of 2 succeeded"), "{applied}");
    let logs = cluster.ok(&["logs", "job/suite"]).await;
    let shards: Vec<&str> = logs.lines().filter(|l| l.contains("] shard ")).collect();
    assert_eq!(shards.len(), 2, "{logs}");
    assert!(shards[0].contains(" index=0] shard 0 on "), "{logs}");
    assert!(shards[1].contains(" index=1] shard 1 on "), "{logs}");
    let mut nodes: Vec<&str> = shards.iter().filter_map(|l| l.rsplit(' ').next()).collect();
    nodes.sort_unstable();
    assert_eq!(nodes, ["far", "local"], "one shard on each node: {logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn manifests_from_standard_input_and_urls() {
    let cluster = Cluster::up(&["--disable-agent"]).await;
    let mut apply = cluster.spawn_with_stdin(&["apply", "-f", "-"]);
    let mut stdin = apply.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(
        &mut stdin,
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: piped}\n",
    )
    .await
    .unwrap();
    drop(stdin);
    assert!(apply.wait().await.unwrap().success());
    cluster.ok(&["get", "cm", "piped"]).await;

    // A manifest served over HTTP, as from a repository's raw URL.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/app.yaml", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        let body = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fetched}\n";
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = stream.read(&mut request);
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
    });
    assert_eq!(cluster.ok(&["apply", "-f", &url]).await, "configmap/fetched serverside-applied\n");
    cluster.ok(&["get", "cm", "fetched"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_verb_has_help_with_examples() {
    for verb in [
        "apply",
        "get",
        "describe",
        "delete",
        "logs",
        "scale",
        "rollout",
        "create",
        "run",
        "wait",
        "top",
        "events",
        "version",
        "config",
        "completion",
    ] {
        let run = support::run(&[verb, "--help"], &[]).await;
        assert!(
            run.ok && run.stdout.contains("Examples:\n  ") && run.stdout.contains(&format!("wctl {verb}")),
            "wctl {verb} --help: {}",
            run.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_one_line_and_changes_nothing() {
    let cluster = Cluster::up(&[]).await;
    let dir = cluster.dir.path();
    let mixed = write(
        dir,
        "mixed.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\napiVersion: wharf.dev/v1\nkind: Widget\nmetadata: {name: w}\n",
    );
    let unknown = cluster.fails(&["apply", "-f", &mixed]).await;
    assert!(unknown.contains("no matches for kind \"Widget\" in version \"wharf.dev/v1\""), "{unknown}");
    let untouched = cluster.fails(&["get", "cm", "first"]).await;
    assert!(untouched.contains("not found"), "nothing was applied: {untouched}");

    let missing = cluster.fails(&["apply", "-f", "/no/such/app.yaml"]).await;
    assert!(missing.starts_with("error: cannot read /no/such/app.yaml"), "{missing}");
    let invalid = cluster.fails(&["apply", "-f", &write(dir, "bad.yaml", "kind: [\n")]).await;
    assert!(invalid.contains("is not valid YAML"), "{invalid}");
    let wrong_namespace = cluster
        .fails(&[
            "apply",
            "-n",
            "other",
            "-f",
            &write(dir, "ns.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: mine}\n"),
        ])
        .await;
    assert!(wrong_namespace.contains("does not match the namespace"), "{wrong_namespace}");
    assert!(cluster.fails(&["get", "widgets"]).await.contains("doesn't have a resource type \"widgets\""));
    assert!(cluster.fails(&["get", "pods", "-o", "xml"]).await.contains("allowed formats are"));
    assert!(cluster.fails(&["get", "pods", "-o", "jsonpath={.items["]).await.contains("JSONPath"));
    assert!(cluster.fails(&["scale", "cm/first", "--replicas", "2"]).await.contains("cannot be scaled"));
    assert!(cluster.fails(&["delete", "pods"]).await.contains("no name was specified"));
    assert!(cluster.fails(&["logs", "nosuch"]).await.contains("not found"));
    assert!(cluster.fails(&["wait", "pod/x", "--for", "ready"]).await.contains("condition="));
    assert!(
        cluster.fails(&["create", "configmap", "x", "--from-literal", "novalue"]).await.contains("KEY=VALUE")
    );
    cluster.fails(&["get", "cm", "x"]).await;

    // A Job that fails: `apply --wait` exits non-zero with the failed pods' last lines.
    let failing = write(
        dir,
        "failing.yaml",
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: broken}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - {name: t, image: hello.wasm, args: ['assertion failed: 1 == 2', 'exit:1']}\n",
    );
    let run = cluster.wctl(&["apply", "-f", &failing, "--wait", "--timeout", "60s"]).await;
    assert!(!run.ok, "{run:?}");
    assert!(run.stderr.contains("] assertion failed: 1 == 2"), "the failed pod's log: {run:?}");
    assert!(
        run.stderr.trim_end().ends_with(
            "error: job \"broken\" failed: BackoffLimitExceeded: Job has reached the specified backoff limit"
        ),
        "{run:?}"
    );

    // An unreachable server and a missing kubeconfig.
    let kubeconfig = std::fs::read_to_string(cluster.kubeconfig()).unwrap();
    let port = cluster.url.rsplit(':').next().unwrap();
    let unreachable = write(dir, "unreachable", &kubeconfig.replace(&format!(":{port}"), ":1"));
    let args = ["--kubeconfig", &unreachable, "get", "pods"];
    let line = support::one_line_failure(&args, support::run(&args, &[]).await);
    assert!(line.starts_with("error: cannot reach the API server at https://127.0.0.1:1"), "{line}");
    let home = tempfile::tempdir().unwrap();
    let args = ["get", "pods"];
    let line =
        support::one_line_failure(&args, support::run(&args, &[("HOME", home.path().as_os_str())]).await);
    assert!(line.contains("no kubeconfig"), "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn up_merges_its_context_stops_cleanly_and_resumes() {
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join(".kube/config");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(&config, "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster: {server: 'https://prod.example:6443'}\ncontexts:\n- name: prod\n  context: {cluster: prod, user: prod}\ncurrent-context: prod\nusers:\n- name: prod\n  user: {token: secret}\n").unwrap();
    let data = tempfile::tempdir().unwrap();
    let (mut up, _) = support::start(
        data.path(),
        &["--write-kubeconfig", &config.display().to_string(), "--disable-agent"],
    )
    .await;
    let merged = kube::config::Kubeconfig::read_from(&config).unwrap();
    assert_eq!(merged.current_context.as_deref(), Some("wharf"));
    let names: Vec<&str> = merged.contexts.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["prod", "wharf"]);
    // The merged file is what the client verbs use by default.
    let env = [("HOME", home.path().as_os_str())];
    let created = support::run(&["create", "configmap", "kept", "--from-literal", "a=1"], &env).await;
    assert!(created.ok, "{created:?}");

    // Ctrl-C: a clean stop, exit 0.
    let pid = up.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), up.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status}");

    // A second `wctl up` on the same directory resumes the cluster.
    let (_up, _) = support::start(
        data.path(),
        &["--write-kubeconfig", &config.display().to_string(), "--disable-agent"],
    )
    .await;
    let kept = support::run(&["get", "configmap", "kept", "-o", "jsonpath={.data.a}"], &env).await;
    assert_eq!((kept.ok, kept.stdout.as_str()), (true, "1"), "{kept:?}");
}
