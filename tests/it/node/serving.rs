//! HTTP workloads: a `wasi:http` component served on its pod's address, a fresh instance per request, with its
//! concurrency limit and queue, timeout, traps and bad requests answered without harm to the next request, and a
//! drain on delete.

use std::time::Duration;

use kube::api::DeleteParams;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Cluster, TARGETS, guest, phase, wait_pod};

/// Sends one HTTP/1.1 request and returns the status code and body (the connection closes after it).
pub async fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    parse(&response)
}

/// Status and (de-chunked) body of a raw HTTP/1.1 response.
fn parse(response: &[u8]) -> (u16, Vec<u8>) {
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut body = response[split + 4..].to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        let mut plain = Vec::new();
        let mut rest = body.as_slice();
        while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
            let size =
                usize::from_str_radix(String::from_utf8_lossy(&rest[..line_end]).trim(), 16).unwrap_or(0);
            if size == 0 {
                break;
            }
            plain.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        body = plain;
    }
    (status, body)
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_serves_a_wasi_http_component_one_instance_per_request() {
    let cluster = Cluster::start(1, |_| {}).await;
    let pod = json!({
        "metadata": {"name": "web", "annotations": {
            "wharf.dev/http-concurrency": "2", "wharf.dev/http-queue": "1", "wharf.dev/http-timeout-seconds": "2"}},
        "spec": {"nodeName": "node-0", "terminationGracePeriodSeconds": 20, "containers": [{
            "name": "web", "image": guest(TARGETS[1], "http_hello"),
            "ports": [{"name": "http", "containerPort": 8080}],
            "resources": {"limits": {"memory": "32Mi"}}}]},
    });
    cluster.pods().create(&Default::default(), &serde_json::from_value(pod).unwrap()).await.unwrap();
    let running = wait_pod(&cluster.pods(), "web", 60, |p| phase(p) == "Running").await;
    let ip = running.status.unwrap().pod_ip.unwrap();
    let addr = format!("{ip}:8080");

    let (status, body) = request(&addr, "GET", "/hi?x=1", b"").await;
    assert_eq!((status, text(&body).trim()), (200, "hello from wasi:http: GET /hi?x=1"));
    let (status, _) = request(&addr, "GET", "/?status=418", b"").await;
    assert_eq!(status, 418);

    // Bodies stream both ways.
    let payload: Vec<u8> = (0..(2u32 << 20)).map(|i| (i % 251) as u8).collect();
    let (status, echoed) = request(&addr, "POST", "/?echo", &payload).await;
    assert_eq!(status, 200);
    assert!(echoed == payload, "echoed {} bytes of {}", echoed.len(), payload.len());

    // A trap fails its own request only; memory past the limit is a failed request too.
    let (status, body) = request(&addr, "GET", "/?trap", b"").await;
    assert_eq!(status, 500, "{}", text(&body));
    assert!(text(&body).contains("trapped"), "{}", text(&body));
    let (status, _) = request(&addr, "GET", "/?grow=64", b"").await;
    assert_eq!(status, 500);
    assert_eq!(request(&addr, "GET", "/after", b"").await.0, 200, "the next request gets a fresh instance");

    // Past the timeout: 504.
    let (status, _) = request(&addr, "GET", "/?sleep=5000", b"").await;
    assert_eq!(status, 504);

    // Two run, one waits, the fourth is turned away at once.
    let slow: Vec<_> = (0..4)
        .map(|i| {
            let addr = addr.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(100 * i)).await;
                request(&addr, "GET", "/?sleep=1200", b"").await.0
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in slow {
        statuses.push(task.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 200, 503]);

    // Malformed HTTP never reaches the guest and harms nothing.
    let mut raw = tokio::net::TcpStream::connect(&addr).await.unwrap();
    raw.write_all(b"NOT HTTP AT ALL\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).await.unwrap();
    assert!(text(&answer).starts_with("HTTP/1.1 400"), "{}", text(&answer));
    assert_eq!(request(&addr, "GET", "/still", b"").await.0, 200);

    // The log holds what instances printed and the failed requests.
    let logs = cluster.logs(0, "web", "web", "").await;
    assert!(logs.contains("GET /hi?x=1") && logs.contains("GET /still"), "{logs}");
    assert!(logs.contains("wharf: request failed (500): the handler trapped"), "{logs}");

    // The node's metrics count the requests by code, their latency and the instances.
    let metrics = cluster.agent_get(0, "/metrics").await;
    for code in ["200", "418", "500", "503", "504"] {
        let line = format!("wharf_http_requests_total{{namespace=\"default\",pod=\"web\",code=\"{code}\"}}");
        assert!(metrics.contains(&line), "{line} missing from:\n{metrics}");
    }
    assert!(
        metrics.contains("wharf_http_request_duration_seconds_count{namespace=\"default\",pod=\"web\"}"),
        "{metrics}"
    );
    let instances = metrics
        .lines()
        .find_map(|l| {
            l.strip_prefix("wharf_http_instances_started_total{namespace=\"default\",pod=\"web\"} ")
        })
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_default();
    assert!(instances >= 10, "one instance per request: {instances}");
    assert!(
        metrics
            .contains("wharf_container_starts_total{namespace=\"default\",pod=\"web\",container=\"web\"} 1"),
        "{metrics}"
    );

    // Delete drains: the request in flight finishes, then the pod goes and the port closes.
    let in_flight = {
        let addr = addr.clone();
        tokio::spawn(async move { request(&addr, "GET", "/?sleep=1000", b"").await.0 })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    cluster.pods().delete("web", &DeleteParams::default()).await.unwrap();
    assert_eq!(in_flight.await.unwrap(), 200, "the in-flight request finished");
    tests::eventually("the pod to be removed", Duration::from_secs(15), async || {
        cluster.pods().get_opt("web").await.unwrap().is_none()
    })
    .await;
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "nothing listens after the pod is gone");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flooded_pod_leaves_the_pool_to_the_others() {
    // A small node: its pool holds 16 guests plus 64 HTTP instances (96 memories).
    let cluster = Cluster::start(1, |c| c.max_pods = 16).await;
    let http = |name: &str, concurrency: &str| {
        json!({"metadata": {"name": name, "annotations": {"wharf.dev/http-concurrency": concurrency}},
            "spec": {"nodeName": "node-0", "containers": [{"name": "web", "image": guest(TARGETS[1], "http_hello"),
                "ports": [{"name": "http", "containerPort": 8080}]}]}})
    };
    let pods = cluster.pods();
    let mut addrs = Vec::new();
    for (name, concurrency) in [("flooded", "200"), ("calm", "4")] {
        pods.create(&Default::default(), &serde_json::from_value(http(name, concurrency)).unwrap())
            .await
            .unwrap();
        let running = wait_pod(&pods, name, 60, |p| phase(p) == "Running").await;
        addrs.push(format!("{}:8080", running.status.unwrap().pod_ip.unwrap()));
    }
    // More requests at once than the pool has memories for.
    let flood: Vec<_> = (0..150)
        .map(|_| {
            let addr = addrs[0].clone();
            tokio::spawn(async move { request(&addr, "GET", "/?sleep=1500", b"").await.0 })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meanwhile the other pod is still served (after a slot frees), and a new pod still starts.
    let (status, body) = request(&addrs[1], "GET", "/", b"").await;
    assert_eq!(status, 200, "{}", text(&body));
    let command = json!({"metadata": {"name": "job"}, "spec": {"nodeName": "node-0", "restartPolicy": "Never",
        "containers": [{"name": "main", "image": guest(TARGETS[1], "hello")}]}});
    pods.create(&Default::default(), &serde_json::from_value(command).unwrap()).await.unwrap();
    let mut statuses = Vec::new();
    for request in flood {
        statuses.push(request.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 200), "every flooding request is served in turn: {statuses:?}");
    wait_pod(&pods, "job", 60, |p| phase(p) == "Succeeded").await;
}
