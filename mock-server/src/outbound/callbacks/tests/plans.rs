//! Scenarios' plans: delays, simulated failures, duplicates, drops, and the order delayed
//! deliveries start in.

use super::*;
use crate::outbound::callbacks::DeliveryPlan;

/// A plan for scenario `name`; the rest as the provider does.
fn plan(name: &str) -> DeliveryPlan {
    DeliveryPlan {
        scenario: Some(name.to_owned()),
        ..DeliveryPlan::default()
    }
}

#[tokio::test]
async fn a_delayed_delivery_waits_on_the_clock() {
    let (url, seen) = receiver(|n| {
        if n == 1 {
            Reply::Status(500)
        } else {
            Reply::Ack
        }
    })
    .await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    let delayed = DeliveryPlan {
        delay_ms: 3_000,
        ..plan("slow")
    };
    cb.enqueue_planned(21, url, seed(), delayed);
    assert_eq!(cb.pending(), 1);
    idle(&cb).await;
    clock.advance(Duration::from_millis(2_999));
    idle(&cb).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 0, "not due yet");
    assert!(cb.attempts().is_empty());
    assert_eq!(cb.pending(), 1);

    clock.advance(Duration::from_millis(1));
    idle(&cb).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
    // The retry schedule counts from the delayed first attempt.
    clock.advance(Duration::from_millis(4_999));
    idle(&cb).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
    clock.advance(Duration::from_millis(1));
    idle(&cb).await;
    let all = cb.attempts_for(21);
    let times: Vec<i64> = all.iter().map(|a| a.time_ms).collect();
    assert_eq!(times, vec![START + 3_000, START + 8_000]);
    assert!(all[1].acknowledged && all[1].final_attempt);
    assert_eq!(cb.pending(), 0);
}

#[tokio::test]
async fn a_simulated_failure_sends_nothing_and_is_retried() {
    let (url, seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    let flaky = DeliveryPlan {
        fail_attempts: 1,
        ..plan("flaky")
    };
    cb.enqueue_planned(22, url, seed(), flaky);
    idle(&cb).await;
    let first = cb.attempts_for(22);
    assert_eq!(first.len(), 1);
    let a = &first[0];
    assert_eq!((a.attempt, a.time_ms, a.latency_ms), (1, START, 0));
    assert_eq!((a.status, a.answer.as_deref()), (None, None));
    assert_eq!(
        a.error.as_deref(),
        Some("simulated failure (scenario flaky)")
    );
    assert!(!a.acknowledged && !a.final_attempt);
    assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
    assert_eq!(cb.pending(), 1, "the retry is parked");

    clock.advance(Duration::from_secs(5));
    idle(&cb).await;
    let all = cb.attempts_for(22);
    assert_eq!(all.len(), 2);
    assert_eq!((all[1].attempt, all[1].time_ms), (2, START + 5_000));
    assert_eq!(all[1].status, Some(200));
    assert!(all[1].acknowledged && all[1].final_attempt);
    assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
    assert_eq!(cb.pending(), 0);
}

#[tokio::test]
async fn simulated_failures_can_use_up_every_attempt() {
    let (url, seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    for (task, fail_attempts) in [(23, 2), (24, 7)] {
        let broken = DeliveryPlan {
            fail_attempts,
            ..plan("down")
        };
        cb.enqueue_planned(task, url.clone(), seed(), broken);
    }
    for _ in 0..3 {
        idle(&cb).await;
        clock.advance(Duration::from_secs(5));
    }
    idle(&cb).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
    for task in [23, 24] {
        let all = cb.attempts_for(task);
        let times: Vec<i64> = all.iter().map(|a| a.time_ms).collect();
        assert_eq!(times, vec![START, START + 5_000]);
        assert_eq!(
            all.iter().map(|a| a.final_attempt).collect::<Vec<_>>(),
            vec![false, true]
        );
        assert!(all.iter().all(|a| !a.acknowledged && a.status.is_none()));
    }
    assert_eq!(cb.pending(), 0);
}

#[tokio::test]
async fn duplicates_follow_the_acknowledged_attempt() {
    let (url, seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    let twice_more = DeliveryPlan {
        duplicates: 2,
        ..plan("echo")
    };
    cb.enqueue_planned(25, url, seed(), twice_more);
    idle(&cb).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
    let bodies: Vec<String> = seen.requests.lock().iter().map(|r| r.2.clone()).collect();
    assert_eq!(bodies, vec![SEED_BODY.to_owned(); 3]);
    let all = cb.attempts_for(25);
    assert_eq!(
        all.iter().map(|a| a.copy).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert!(all.iter().all(|a| a.attempt == 1 && a.time_ms == START));
    assert!(all.iter().all(|a| a.acknowledged && a.final_attempt));
    assert_eq!(cb.pending(), 0);
}

#[tokio::test]
async fn no_duplicates_without_an_acknowledgement() {
    let (url, seen) = receiver(|_| Reply::Status(500)).await;
    let clock = Clock::manual(START);
    let policy = CallbackPolicy {
        attempts: 1,
        ..CallbackPolicy::default()
    };
    let cb = callbacks(&clock, policy, 4);
    let echo = DeliveryPlan {
        duplicates: 2,
        ..plan("echo")
    };
    cb.enqueue_planned(26, url, seed(), echo);
    idle(&cb).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 1);
    assert_eq!(cb.attempts_for(26).len(), 1);
}

#[tokio::test]
async fn a_dropped_delivery_is_journaled_once_and_never_sent() {
    let (url, seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    let lost = DeliveryPlan {
        drop: true,
        delay_ms: 1_000,
        ..plan("lost")
    };
    cb.enqueue_planned(27, url.clone(), seed(), lost);
    assert_eq!(cb.pending(), 0);
    clock.advance(Duration::from_secs(60));
    idle(&cb).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
    let all = cb.attempts_for(27);
    assert_eq!(all.len(), 1);
    let a = &all[0];
    assert_eq!((a.attempt, a.time_ms, a.copy), (1, START, 0));
    assert_eq!((a.url.as_str(), a.body.as_str()), (url.as_str(), SEED_BODY));
    assert_eq!(a.status, None);
    assert_eq!(a.error.as_deref(), Some("dropped (scenario lost)"));
    assert!(a.final_attempt && !a.acknowledged);
}

#[tokio::test]
async fn every_entry_names_its_scenario() {
    let (url, _seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    let mixed = DeliveryPlan {
        fail_attempts: 1,
        duplicates: 1,
        ..plan("mixed")
    };
    cb.enqueue_planned(28, url.clone(), seed(), mixed);
    cb.enqueue(29, url.clone(), seed());
    idle(&cb).await;
    clock.advance(Duration::from_secs(5));
    idle(&cb).await;
    cb.set_queue_capacity(1);
    let parked = DeliveryPlan {
        delay_ms: 1,
        ..plan("parked")
    };
    cb.enqueue_planned(30, url.clone(), seed(), parked);
    cb.enqueue_planned(31, url, seed(), plan("full"));

    let planned = cb.attempts_for(28);
    assert_eq!(planned.len(), 3);
    assert!(planned
        .iter()
        .all(|a| a.scenario.as_deref() == Some("mixed")));
    assert_eq!(
        planned.iter().map(|a| a.copy).collect::<Vec<_>>(),
        vec![0, 0, 1]
    );
    let ordinary = cb.attempts_for(29);
    assert_eq!(ordinary.len(), 1);
    assert_eq!(
        (ordinary[0].scenario.as_deref(), ordinary[0].copy),
        (None, 0)
    );
    let full = cb.attempts_for(31);
    assert_eq!(full.len(), 1);
    assert_eq!(full[0].scenario.as_deref(), Some("full"));
    assert!(full[0]
        .error
        .as_deref()
        .is_some_and(|e| e.starts_with("callback queue is full")));
    let json = serde_json::to_value(&planned[2]).unwrap();
    assert_eq!(
        (json["scenario"].as_str(), json["copy"].as_u64()),
        (Some("mixed"), Some(1))
    );
}

#[tokio::test]
async fn delayed_deliveries_count_toward_the_queue_bound() {
    let (url, seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    cb.set_queue_capacity(2);
    for task in 40..43 {
        let later = DeliveryPlan {
            delay_ms: 1_000,
            ..DeliveryPlan::default()
        };
        cb.enqueue_planned(task, url.clone(), seed(), later);
    }
    assert_eq!(cb.pending(), 2);
    let dropped = cb.attempts_for(42);
    assert_eq!(dropped.len(), 1);
    assert_eq!(
        dropped[0].error.as_deref(),
        Some("callback queue is full (2 deliveries unfinished); delivery dropped")
    );
    clock.advance(Duration::from_secs(1));
    idle(&cb).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 2);
    assert_eq!(cb.pending(), 0);
}

#[tokio::test]
async fn shorter_delays_overtake_longer_ones() {
    // One permit, so arrival order is start order; the clock passes both delays at once.
    for _ in 0..5 {
        let (url, seen) = receiver(|_| Reply::Ack).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 1);
        for (task, delay_ms) in [(51, 2_000), (52, 1_000)] {
            let jittered = DeliveryPlan {
                delay_ms,
                ..plan("jitter")
            };
            cb.enqueue_planned(task, url.clone(), form(format!("task={task}")), jittered);
        }
        idle(&cb).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), 0);
        clock.advance(Duration::from_millis(2_000));
        idle(&cb).await;
        let bodies: Vec<String> = seen.requests.lock().iter().map(|r| r.2.clone()).collect();
        assert_eq!(bodies, vec!["task=52".to_owned(), "task=51".to_owned()]);
        let tasks: Vec<u64> = cb.attempts().iter().map(|a| a.task_id).collect();
        assert_eq!(tasks, vec![52, 51]);
        assert_eq!(cb.pending(), 0);
    }
}
