//! Attempts, retries, timeouts, concurrency and the journal.

use super::*;
use crate::outbound::USER_AGENT;

#[tokio::test]
async fn an_acknowledged_callback_is_sent_once() {
    let (url, seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    cb.enqueue(4_000_048_858, url.clone(), seed());
    idle(&cb).await;
    let attempts = cb.attempts_for(4_000_048_858);
    assert_eq!(attempts.len(), 1);
    let a = &attempts[0];
    assert_eq!((a.attempt, a.time_ms, a.latency_ms), (1, START, 0));
    assert_eq!(a.url, url);
    assert_eq!(a.body, SEED_BODY);
    assert_eq!(a.status, Some(200));
    assert_eq!(a.answer.as_deref(), Some(ACKNOWLEDGEMENT));
    assert_eq!(a.error, None);
    assert!(a.acknowledged && a.final_attempt);
    assert_eq!(cb.pending(), 0);
    let requests = seen.requests.lock().clone();
    assert_eq!(
        requests,
        vec![(
            Some(FORM_CONTENT_TYPE.to_owned()),
            Some(USER_AGENT.to_owned()),
            SEED_BODY.to_owned()
        )]
    );
    assert!(cb.attempts_for(1).is_empty());
}

#[tokio::test]
async fn a_failed_attempt_is_retried_one_interval_later_on_the_clock() {
    let first_failures: [fn(usize) -> Reply; 3] = [
        |n| {
            if n == 1 {
                Reply::Status(500)
            } else {
                Reply::Ack
            }
        },
        |n| {
            if n == 1 {
                Reply::Json(r#"{"code":1,"message":"busy"}"#)
            } else {
                Reply::Ack
            }
        },
        |n| {
            if n == 1 {
                Reply::Json("OK")
            } else {
                Reply::Ack
            }
        },
    ];
    for script in first_failures {
        let (url, seen) = receiver(script).await;
        let clock = Clock::manual(START);
        let cb = callbacks(&clock, CallbackPolicy::default(), 4);
        cb.enqueue(7, url, seed());
        idle(&cb).await;
        let first = cb.attempts();
        assert_eq!(first.len(), 1);
        assert!(!first[0].acknowledged && !first[0].final_attempt);
        assert!(first[0].error.is_some());
        assert_eq!(cb.pending(), 1, "the retry is parked");

        clock.advance(Duration::from_millis(4_999));
        idle(&cb).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(cb.attempts().len(), 1, "not due yet");
        assert_eq!(seen.hits.load(Ordering::SeqCst), 1);

        clock.advance(Duration::from_millis(1));
        idle(&cb).await;
        let all = cb.attempts();
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].attempt, 2);
        assert_eq!(all[1].time_ms, START + 5_000);
        assert!(all[1].acknowledged && all[1].final_attempt);
        assert_eq!(cb.pending(), 0);
    }
}

#[tokio::test]
async fn the_callers_rule_decides_what_acknowledges() {
    let (url, _seen) = receiver(|_| Reply::Json("OK")).await;
    let clock = Clock::manual(START);
    let anything = Callbacks::new(clock.clone(), CallbackPolicy::default(), 4, 8, |_| Ok(()));
    anything.enqueue(1, url.clone(), seed());
    idle(&anything).await;
    assert!(anything.attempts_for(1)[0].acknowledged);

    let nothing = Callbacks::new(clock, CallbackPolicy::default(), 4, 8, |_| {
        Err("never good enough".to_owned())
    });
    nothing.enqueue(2, url, seed());
    idle(&nothing).await;
    let refused = &nothing.attempts_for(2)[0];
    assert_eq!(refused.status, Some(200));
    assert_eq!(refused.answer.as_deref(), Some("OK"));
    assert_eq!(refused.error.as_deref(), Some("never good enough"));
    assert!(!refused.acknowledged && !refused.final_attempt);
}

#[tokio::test]
async fn failing_receivers_get_exactly_the_policy_attempts() {
    let (url, seen) = receiver(|_| Reply::Status(503)).await;
    let clock = Clock::manual(START);
    let policy = CallbackPolicy {
        attempts: 3,
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(10),
    };
    let cb = callbacks(&clock, policy, 4);
    cb.enqueue(9, url, seed());
    for _ in 0..5 {
        idle(&cb).await;
        clock.advance(Duration::from_secs(5));
    }
    idle(&cb).await;
    let all = cb.attempts_for(9);
    assert_eq!(all.len(), 3);
    assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
    let times: Vec<i64> = all.iter().map(|a| a.time_ms).collect();
    assert_eq!(times, vec![START, START + 5_000, START + 10_000]);
    assert_eq!(
        all.iter().map(|a| a.final_attempt).collect::<Vec<_>>(),
        vec![false, false, true]
    );
    assert!(all.iter().all(|a| !a.acknowledged && a.status == Some(503)));
    assert_eq!(all[2].error.as_deref(), Some("HTTP status 503"));
    assert_eq!(cb.pending(), 0);
}

#[tokio::test]
async fn an_unreachable_receiver_is_a_failed_attempt() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let clock = Clock::manual(START);
    let policy = CallbackPolicy {
        attempts: 1,
        ..CallbackPolicy::default()
    };
    let cb = callbacks(&clock, policy, 4);
    cb.enqueue(3, format!("http://{addr}/cb"), seed());
    idle(&cb).await;
    let all = cb.attempts();
    assert_eq!(all.len(), 1);
    let error = all[0].error.clone().unwrap_or_default();
    assert!(error.starts_with("connection failed: "), "{error}");
    assert!(all[0].final_attempt && !all[0].acknowledged);
    assert_eq!(all[0].status, None);
}

#[tokio::test]
async fn a_hanging_receiver_times_out_on_the_clock() {
    let (url, seen) = receiver(|_| Reply::Hang).await;
    let clock = Clock::manual(START);
    let policy = CallbackPolicy {
        attempts: 1,
        ..CallbackPolicy::default()
    };
    let cb = callbacks(&clock, policy, 4);
    cb.enqueue(5, url, seed());
    hits(&seen, 1).await;
    clock.advance(Duration::from_millis(9_999));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(cb.attempts().is_empty(), "still in flight");
    assert_eq!(cb.pending(), 1);
    clock.advance(Duration::from_millis(1));
    idle(&cb).await;
    let all = cb.attempts();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].latency_ms, 10_000);
    assert_eq!(
        all[0].error.as_deref(),
        Some("no answer within 10 s (simulator clock)")
    );
    assert_eq!(all[0].status, None);
    assert!(all[0].final_attempt);
}

#[tokio::test]
async fn only_concurrency_attempts_reach_the_receiver_at_once() {
    // Every attempt hangs until the clock times it out, so exactly `concurrency` requests
    // can be at the receiver; the rest wait for a permit.
    let (url, seen) = receiver(|_| Reply::Hang).await;
    let clock = Clock::manual(START);
    let policy = CallbackPolicy {
        attempts: 1,
        ..CallbackPolicy::default()
    };
    let cb = callbacks(&clock, policy, 2);
    for task in 0..5 {
        cb.enqueue(task, url.clone(), seed());
    }
    for expected in [2, 4, 5] {
        hits(&seen, expected).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(seen.hits.load(Ordering::SeqCst), expected);
        clock.advance(Duration::from_secs(10));
    }
    idle(&cb).await;
    let all = cb.attempts();
    assert_eq!(all.len(), 5);
    assert!(all.iter().all(|a| a.error.is_some() && a.final_attempt));
    assert_eq!(cb.pending(), 0);
}

#[tokio::test]
async fn a_hanging_receiver_holds_only_its_share_and_never_delays_another() {
    let (hanging, stuck) = receiver(|_| Reply::Hang).await;
    let (healthy, fine) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let policy = CallbackPolicy {
        attempts: 1,
        ..CallbackPolicy::default()
    };
    let cb = callbacks(&clock, policy, 8);
    cb.set_per_receiver(3);
    for task in 0..64 {
        cb.enqueue(task, hanging.clone(), seed());
    }
    hits(&stuck, 3).await;
    // Under a manual clock the hanging attempts never time out on their own.
    cb.enqueue(100, healthy, seed());
    hits(&fine, 1).await;
    for _ in 0..500 {
        if cb.attempts_for(100).first().is_some_and(|a| a.acknowledged) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(cb.attempts_for(100)[0].acknowledged);
    assert_eq!(
        stuck.hits.load(Ordering::SeqCst),
        3,
        "only its share was sent"
    );
    assert_eq!(
        cb.receivers_busy(),
        1,
        "the healthy receiver's entry is gone"
    );

    // Time the hanging attempts out, three by three: each round's attempts reach the
    // receiver before the clock moves on, until all 64 have been there.
    let mut sent = 3;
    while sent < 64 {
        clock.advance(Duration::from_secs(10));
        sent = (sent + 3).min(64);
        hits(&stuck, sent).await;
        assert_eq!(
            stuck.hits.load(Ordering::SeqCst),
            sent,
            "never more than 3 at once"
        );
    }
    clock.advance(Duration::from_secs(10));
    idle(&cb).await;
    assert_eq!(cb.pending(), 0);
    assert_eq!(cb.receivers_busy(), 0, "no entry outlives its deliveries");
}

#[tokio::test]
async fn concurrency_is_bounded() {
    let (url, seen) = receiver(|_| Reply::SlowAck(40)).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 2);
    for task in 0..8 {
        cb.enqueue(task, url.clone(), seed());
    }
    assert_eq!(cb.pending(), 8);
    idle(&cb).await;
    assert_eq!(seen.hits.load(Ordering::SeqCst), 8);
    let max = seen.max_in_flight.load(Ordering::SeqCst);
    assert!((1..=2).contains(&max), "{max} requests at once");
    assert_eq!(cb.attempts().iter().filter(|a| a.acknowledged).count(), 8);
}

#[tokio::test]
async fn the_journal_keeps_only_the_newest_attempts() {
    let (url, _seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = Callbacks::new(clock, CallbackPolicy::default(), 4, 3, exact_ack);
    for task in 1..=5 {
        cb.enqueue(task, url.clone(), seed());
        idle(&cb).await;
    }
    let ids: Vec<u64> = cb.attempts().iter().map(|a| a.task_id).collect();
    assert_eq!(ids, vec![3, 4, 5]);
    cb.clear();
    assert!(cb.attempts().is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn enqueue_never_waits_for_the_receiver() {
    // On a single-threaded runtime, any wait inside enqueue would deadlock this test.
    let (url, _seen) = receiver(|_| Reply::Hang).await;
    let cb = callbacks(&Clock::manual(START), CallbackPolicy::default(), 1);
    cb.set_queue_capacity(50);
    for task in 0..50 {
        cb.enqueue(task, url.clone(), seed());
    }
    assert_eq!(cb.pending(), 50);
    assert!(cb.attempts().is_empty());
    // One more than the queue holds is dropped, and the drop journaled.
    cb.enqueue(50, url, seed());
    assert_eq!(cb.pending(), 50);
    let dropped = cb.attempts_for(50);
    assert_eq!(dropped.len(), 1);
    assert!(dropped[0].final_attempt && !dropped[0].acknowledged);
    assert_eq!(
        dropped[0].error.as_deref(),
        Some("callback queue is full (50 deliveries unfinished); delivery dropped")
    );
}

#[tokio::test]
async fn a_raw_body_goes_out_with_its_own_policy() {
    let (url, seen) = receiver(|_| Reply::Ack).await;
    let clock = Clock::manual(START);
    let cb = callbacks(&clock, CallbackPolicy::default(), 4);
    let policy = CallbackPolicy {
        attempts: 1,
        interval: Duration::ZERO,
        timeout: Duration::from_secs(1),
    };
    cb.enqueue_with(11, url, form("not=a&real=form"), policy);
    idle(&cb).await;
    assert!(cb.attempts_for(11)[0].acknowledged);
    assert_eq!(seen.requests.lock()[0].2, "not=a&real=form");
}
