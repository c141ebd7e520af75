//! The session cookie, the client's address, and running a request's work as its caller.
//!
//! The cookie holds only a random token (`jamrs_store::auth`); it is HttpOnly (scripts cannot
//! read it), SameSite=Lax (other sites cannot make the browser send it with a POST) and Secure
//! when the project says it is served over HTTPS.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use jamrs_core::{Error, Result, Task};
use jamrs_store::Store;
use jamrs_store::auth;

pub const COOKIE: &str = "jamrs_session";

/// Seconds since the Unix epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// The session token from the request's cookie, if any.
#[derive(Debug, Clone, Default)]
pub struct SessionToken(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for SessionToken {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(SessionToken(cookie_token(&parts.headers)))
    }
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value)
        // Tokens are 43 URL-safe characters; anything else is not ours.
        .filter(|t| {
            t.len() == 43
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_string)
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(task: &Task, token: &str) -> HeaderValue {
    let secure = if task.settings.server.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(task: &Task) -> HeaderValue {
    let secure = if task.settings.server.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The client's address: the socket's peer, unless that peer is a trusted proxy, in which
/// case the right-most `X-Forwarded-For` entry that is not a trusted proxy.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub IpAddr);

pub fn client_address(trusted: &[IpAddr], peer: IpAddr, headers: &HeaderMap) -> IpAddr {
    // A server bound to `[::]` sees IPv4 clients as `::ffff:a.b.c.d`; compare and count them
    // as the IPv4 addresses `trusted_proxies` and people write.
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for entry in forwarded.iter().rev() {
        match entry.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
            Ok(ip) if trusted.contains(&ip) => continue,
            Ok(ip) => return ip,
            // Garbage in the header: believe only what we saw.
            Err(_) => return peer,
        }
    }
    peer
}

impl FromRequestParts<crate::AppState> for ClientAddress {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::AppState,
    ) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([127, 0, 0, 1]), |c| c.0.ip());
        Ok(ClientAddress(client_address(
            &state.task.settings.server.trusted_proxies,
            peer,
            &parts.headers,
        )))
    }
}

/// Writes a session's last-seen time from outside a request's transaction.
pub fn touch_later(store: &dyn Store, token: String, now: i64) {
    let submitted = store.submit_write(jamrs_store::store::detached(move |conn| {
        auth::touch(conn, &token, now)
    }));
    if let Err(e) = submitted {
        tracing::warn!(error = %e, "could not queue a session update");
    }
}

/// An item by name, for a caller: unknown items are 404.
pub fn item<'t>(task: &'t Task, name: &str) -> Result<&'t jamrs_core::model::Item> {
    task.item_by_name(name)
        .ok_or_else(|| Error::not_found(format!("there is no item \"{name}\"")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_cookie_token_is_found_and_checked() {
        let token = "a".repeat(43);
        let h = headers(&[("cookie", &format!("x=1; jamrs_session={token}; y=2"))]);
        assert_eq!(cookie_token(&h), Some(token));
        let h = headers(&[("cookie", "jamrs_session=short")]);
        assert_eq!(cookie_token(&h), None);
        let h = headers(&[("cookie", &format!("jamrs_session={}'--", "a".repeat(40)))]);
        assert_eq!(cookie_token(&h), None);
    }

    #[test]
    fn forwarded_addresses_count_only_behind_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 5.6.7.8")]);
        let other: IpAddr = "9.9.9.9".parse().unwrap();
        assert_eq!(client_address(&[], other, &h), other);
        assert_eq!(
            client_address(&[proxy], proxy, &h),
            "5.6.7.8".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[("x-forwarded-for", "1.2.3.4, 10.0.0.1")]);
        assert_eq!(
            client_address(&[proxy], proxy, &h),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        let h = headers(&[("x-forwarded-for", "9.9.9.9'--")]);
        assert_eq!(client_address(&[proxy], proxy, &h), proxy);
    }

    #[test]
    fn ipv4_mapped_addresses_are_their_ipv4_addresses() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        let h = headers(&[("x-forwarded-for", "::ffff:1.2.3.4, ::ffff:10.0.0.1")]);
        assert_eq!(
            client_address(&[proxy], mapped, &h),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        let other: IpAddr = "::ffff:9.9.9.9".parse().unwrap();
        assert_eq!(
            client_address(&[proxy], other, &h),
            "9.9.9.9".parse::<IpAddr>().unwrap()
        );
    }
}
