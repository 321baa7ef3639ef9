use super::*;
use actix_web::test::TestRequest;

fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
    list.iter()
        .map(|p| p.parse().unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn settings(per_minute: u32, failures: u32, trusted: &[&str]) -> ThrottleSettings {
    ThrottleSettings {
        enabled: true,
        per_address_per_minute: per_minute,
        failed_logins_per_email: failures,
        failed_logins_per_email_total: 0,
        failed_login_window: Duration::from_secs(900),
        max_tracked_keys: 100_000,
        writes_per_minute: 0,
        trusted_proxies: proxies(trusted),
        refusal_delay: Duration::ZERO,
    }
}

fn throttle(per_minute: u32, failures: u32, trusted: &[&str]) -> Throttle {
    Throttle::new(settings(per_minute, failures, trusted)).unwrap_or_else(|e| panic!("{e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn trusted_proxies_are_addresses_or_networks() {
    let p = proxies(&["10.0.0.0/8", "192.168.1.7", "fd00::/8"]);
    assert!(p[0].contains(ip("10.200.3.4")));
    assert!(!p[0].contains(ip("11.0.0.1")));
    assert!(p[1].contains(ip("192.168.1.7")) && !p[1].contains(ip("192.168.1.8")));
    assert!(p[1].contains(ip("::ffff:192.168.1.7")), "v4-mapped peers");
    assert!(p[2].contains(ip("fd12::1")) && !p[2].contains(ip("fe80::1")));
    for bad in ["", "proxy.local", "10.0.0.0/33", "::/129", "1.2.3.4/x"] {
        assert!(bad.parse::<TrustedProxy>().is_err(), "{bad:?}");
    }
    for catch_all in ["0.0.0.0/0", "::/0", "10.0.0.0/0", "2001:db8::/0"] {
        let refused = catch_all.parse::<TrustedProxy>();
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.0.contains("every address")),
            "{catch_all:?}: {refused:?}"
        );
    }
    assert!("0.0.0.0/1".parse::<TrustedProxy>().is_ok());
}

#[test]
fn forwarded_for_is_believed_only_from_trusted_peers() {
    let t = throttle(10, 5, &["10.0.0.0/8"]);
    let from = |peer: &str, xff: Option<&str>| {
        let mut req = TestRequest::default().peer_addr(
            format!("{peer}:4000")
                .parse()
                .unwrap_or_else(|e| panic!("{e}")),
        );
        if let Some(xff) = xff {
            req = req.insert_header(("x-forwarded-for", xff));
        }
        t.client_address(&req.to_http_request())
    };
    assert_eq!(
        from("203.0.113.9", Some("1.2.3.4")),
        Some(ip("203.0.113.9"))
    );
    assert_eq!(from("10.0.0.2", Some("1.2.3.4")), Some(ip("1.2.3.4")));
    assert_eq!(
        from("10.0.0.2", Some("6.6.6.6, 1.2.3.4, 10.9.9.9")),
        Some(ip("1.2.3.4")),
        "the rightmost untrusted hop; what the client wrote itself is ignored"
    );
    assert_eq!(from("10.0.0.2", None), Some(ip("10.0.0.2")));
    assert_eq!(from("10.0.0.2", Some("garbage")), Some(ip("10.0.0.2")));
    assert_eq!(
        from("10.0.0.2", Some("[2001:db8::1]:443")),
        Some(ip("2001:db8::1"))
    );
}

#[test]
fn an_address_gets_its_budget_then_429_with_a_retry_after() {
    let t = throttle(3, 5, &[]);
    for _ in 0..3 {
        assert!(t.check_address(ip("1.1.1.1")).is_ok());
    }
    match t.check_address(ip("1.1.1.1")) {
        Err(ApiError::TooManyRequests { retry_after, .. }) => {
            assert!((1..=20).contains(&retry_after), "{retry_after}");
        }
        other => panic!("expected 429, got {other:?}"),
    }
    assert!(
        t.check_address(ip("2.2.2.2")).is_ok(),
        "budgets are per address"
    );
}

fn at(s: &str) -> Option<IpAddr> {
    Some(ip(s))
}

fn locked(result: Result<(), ApiError>) -> bool {
    matches!(result, Err(ApiError::TooManyRequests { .. }))
}

#[test]
fn failed_logins_lock_an_email_at_an_address_and_a_success_forgives_them() {
    let t = throttle(100, 3, &[]);
    for _ in 0..2 {
        assert!(t.check_login("bob@example.com", at("1.1.1.1")).is_ok());
    }
    t.forgive_login(" BOB@example.com", at("1.1.1.1"));
    for _ in 0..3 {
        assert!(t.check_login("Bob@Example.com ", at("1.1.1.1")).is_ok());
    }
    assert!(locked(t.check_login("bob@example.com", at("1.1.1.1"))));
    assert!(
        t.check_login("bob@example.com", at("2.2.2.2")).is_ok(),
        "the owner elsewhere is not locked out"
    );
    assert!(locked(t.check_login("bob@example.com", at("1.1.1.1"))));
    assert!(t.check_login("carol@example.com", at("1.1.1.1")).is_ok());
    // One /64 is one client.
    for _ in 0..3 {
        assert!(t.check_login("dan@example.com", at("2001:db8::1")).is_ok());
    }
    assert!(locked(
        t.check_login("dan@example.com", at("2001:db8::ffff"))
    ));
    t.forget_idle();
}

#[test]
fn an_email_also_has_a_budget_across_all_addresses() {
    let t = Throttle::new(ThrottleSettings {
        failed_logins_per_email_total: 4,
        ..settings(100, 3, &[])
    })
    .unwrap_or_else(|e| panic!("{e}"));
    for n in 0..4 {
        assert!(
            t.check_login("eve@example.com", at(&format!("10.0.0.{n}")))
                .is_ok()
        );
    }
    assert!(
        locked(t.check_login("eve@example.com", at("10.0.0.9"))),
        "a fresh address is refused once the email's total is spent"
    );
    assert!(t.check_login("fay@example.com", at("10.0.0.9")).is_ok());
    // The owner's successful login clears the total as well.
    t.forgive_login("eve@example.com", at("10.0.0.9"));
    assert!(t.check_login("eve@example.com", at("10.0.0.9")).is_ok());
}

#[test]
fn writes_are_counted_per_account_even_with_throttling_off() {
    let t = Throttle::new(ThrottleSettings {
        enabled: false,
        writes_per_minute: 2,
        ..settings(100, 3, &[])
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (uuid::Uuid::from_u128(1), uuid::Uuid::from_u128(2));
    assert!(t.check_write(a).is_ok() && t.check_write(a).is_ok());
    match t.check_write(a) {
        Err(ApiError::TooManyRequests { retry_after, .. }) => {
            assert!((1..=60).contains(&retry_after), "{retry_after}");
        }
        other => panic!("expected 429, got {other:?}"),
    }
    assert!(t.check_write(b).is_ok());
    let unlimited = throttle(100, 3, &[]);
    for _ in 0..1000 {
        assert!(unlimited.check_write(a).is_ok());
    }
}

/// This process's resident memory in bytes (Linux: `VmRSS` of /proc/self/status).
fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn a_million_client_addresses_leave_the_throttle_bounded() {
    let t = throttle(20, 5, &[]);
    let before = resident_bytes();
    for n in 0..1_000_000u32 {
        // Distinct IPv4 clients, each with a failed login of one account (the pair store).
        let address = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + n));
        assert!(t.check_address(address).is_ok());
        assert!(t.check_login("target@example.com", Some(address)).is_ok());
    }
    assert!(
        t.tracked_keys() <= 2 * 100_000,
        "{} keys tracked",
        t.tracked_keys()
    );
    assert!(t.tracked_keys() >= 100_000, "{} keys", t.tracked_keys());
    if cfg!(target_os = "linux") {
        let (before, after) = (
            before.unwrap_or_else(|| panic!("cannot read VmRSS")),
            resident_bytes().unwrap_or_else(|| panic!("cannot read VmRSS")),
        );
        let growth = after.saturating_sub(before);
        assert!(growth < 50 << 20, "resident memory grew by {growth} bytes");
    }
}

#[test]
fn disabled_throttling_never_refuses() {
    let mut settings = ThrottleSettings {
        enabled: false,
        failed_logins_per_email_total: 1,
        ..settings(1, 1, &[])
    };
    let t = Throttle::new(settings.clone()).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..10 {
        assert!(t.check_address(ip("1.1.1.1")).is_ok());
        assert!(t.check_login("a@example.com", at("1.1.1.1")).is_ok());
    }
    settings.per_address_per_minute = 0;
    assert!(Throttle::new(settings).is_err());
}

#[test]
fn ipv6_clients_share_the_budget_of_their_64_network() {
    let a: IpAddr = "2001:db8:1:2:aaaa::1"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let b: IpAddr = "2001:db8:1:2:ffff::9"
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    let other: IpAddr = "2001:db8:1:3::1".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(budget_key(a), budget_key(b));
    assert_ne!(budget_key(a), budget_key(other));
    let v4: IpAddr = "192.0.2.7".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(budget_key(v4), v4);
}

#[test]
fn ipv4_clients_of_a_dual_stack_listener_keep_budgets_of_their_own() {
    let mapped: IpAddr = "::ffff:192.0.2.7".parse().unwrap_or_else(|e| panic!("{e}"));
    let neighbour: IpAddr = "::ffff:192.0.2.8".parse().unwrap_or_else(|e| panic!("{e}"));
    let v4: IpAddr = "192.0.2.7".parse().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(budget_key(mapped), v4);
    assert_ne!(budget_key(mapped), budget_key(neighbour));
}

#[test]
fn a_refusal_is_held_for_the_delay_at_most_until_a_retry_could_succeed() {
    let held = |per_minute: u32, delay: u64| {
        let t = Throttle::new(ThrottleSettings {
            refusal_delay: Duration::from_secs(delay),
            ..settings(per_minute, 5, &[])
        })
        .unwrap_or_else(|e| panic!("{e}"));
        for _ in 0..per_minute {
            assert!(t.check_address(ip("1.1.1.1")).is_ok());
        }
        match t.check_address(ip("1.1.1.1")) {
            Err(ApiError::TooManyRequests { retry_after, hold }) => (retry_after, hold),
            other => panic!("expected 429, got {other:?}"),
        }
    };
    // One a minute: held 2 s, and the Retry-After counts from when the answer is sent.
    let (retry_after, hold) = held(1, 2);
    assert_eq!(hold, Duration::from_secs(2));
    assert!((57..=58).contains(&retry_after), "{retry_after}");
    // One a second: never held past the moment a retry succeeds.
    let (retry_after, hold) = held(60, 10);
    assert!(hold <= Duration::from_secs(1), "{hold:?}");
    assert_eq!(retry_after, 1);
    // No delay: answered at once.
    assert_eq!(held(1, 0).1, Duration::ZERO);
}
