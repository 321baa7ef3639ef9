use super::*;
use actix_web::test::TestRequest;

fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
    list.iter()
        .map(|p| p.parse().unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

fn throttle(per_minute: u32, failures: u32, trusted: &[&str]) -> Throttle {
    Throttle::new(ThrottleSettings {
        enabled: true,
        per_address_per_minute: per_minute,
        failed_logins_per_email: failures,
        failed_login_window: Duration::from_secs(900),
        trusted_proxies: proxies(trusted),
    })
    .unwrap_or_else(|e| panic!("{e}"))
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
    assert!("0.0.0.0/0".parse::<TrustedProxy>().is_ok());
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
        Err(ApiError::TooManyRequests { retry_after }) => {
            assert!((1..=20).contains(&retry_after), "{retry_after}");
        }
        other => panic!("expected 429, got {other:?}"),
    }
    assert!(
        t.check_address(ip("2.2.2.2")).is_ok(),
        "budgets are per address"
    );
}

#[test]
fn failed_logins_lock_an_email_and_a_success_forgives_them() {
    let t = throttle(100, 3, &[]);
    for _ in 0..2 {
        assert!(t.check_email("bob@example.com").is_ok());
    }
    t.forgive_email(" BOB@example.com");
    for _ in 0..3 {
        assert!(t.check_email("Bob@Example.com ").is_ok());
    }
    assert!(matches!(
        t.check_email("bob@example.com"),
        Err(ApiError::TooManyRequests { .. })
    ));
    assert!(t.check_email("carol@example.com").is_ok());
    t.forget_idle();
}

#[test]
fn disabled_throttling_never_refuses() {
    let mut settings = ThrottleSettings {
        enabled: false,
        per_address_per_minute: 1,
        failed_logins_per_email: 1,
        failed_login_window: Duration::from_secs(60),
        trusted_proxies: Vec::new(),
    };
    let t = Throttle::new(settings.clone()).unwrap_or_else(|e| panic!("{e}"));
    for _ in 0..10 {
        assert!(t.check_address(ip("1.1.1.1")).is_ok());
        assert!(t.check_email("a@example.com").is_ok());
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
