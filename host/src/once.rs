//! One at a time per key: replicas of one image starting together read, hash and compile it once, the others
//! waiting for that result instead of repeating the work.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

/// Per-key async gates.
pub struct Gates<K> {
    gates: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for Gates<K> {
    fn default() -> Self {
        Self { gates: Mutex::default() }
    }
}

impl<K: Hash + Eq + Clone> Gates<K> {
    /// Waits for the turn of `key`: while the guard lives, other callers with the same key wait. Look the result
    /// up again after the wait, since the caller before may have produced it.
    pub async fn turn(&self, key: &K) -> Turn<'_, K> {
        let gate = self.lock().entry(key.clone()).or_default().clone();
        let guard = gate.clone().lock_owned().await;
        Turn { gates: self, key: key.clone(), gate, _guard: guard }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<tokio::sync::Mutex<()>>>> {
        self.gates.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A caller's turn for one key; the gate is forgotten when the last caller holding or awaiting it is done.
pub struct Turn<'a, K: Hash + Eq> {
    gates: &'a Gates<K>,
    key: K,
    gate: Arc<tokio::sync::Mutex<()>>,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl<K: Hash + Eq> Drop for Turn<'_, K> {
    fn drop(&mut self) {
        let mut gates = self.gates.gates.lock().unwrap_or_else(PoisonError::into_inner);
        // Held here, by the map, and by our guard: nobody else is waiting.
        if Arc::strong_count(&self.gate) <= 3 {
            gates.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn callers_of_one_key_take_turns_and_the_gate_is_forgotten() {
        let gates = Arc::new(Gates::<String>::default());
        let done = Arc::new(Mutex::new(None::<u32>));
        let computed = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (gates, done, computed) = (gates.clone(), done.clone(), computed.clone());
            tasks.push(tokio::spawn(async move {
                let _turn = gates.turn(&"a".to_owned()).await;
                if done.lock().unwrap().is_none() {
                    computed.fetch_add(1, Ordering::SeqCst);
                    tokio::task::yield_now().await;
                    *done.lock().unwrap() = Some(7);
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(computed.load(Ordering::SeqCst), 1);
        assert!(gates.lock().is_empty(), "gates are dropped when nobody waits");
    }
}
