//! A loopback TCP port that refuses every connection and that nobody else can take.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::error::ReserveError;

/// A TCP port on `127.0.0.1` where nothing listens, reserved for as long as the value lives:
/// the endpoint of a dead collector.
///
/// The usual way to get such a port, binding `127.0.0.1:0`, reading the port and dropping
/// the listener, leaves it free: until the exporter connects, the kernel may hand the same
/// port to any other socket that binds port 0 (another test's receiver, in a test binary
/// whose tests run in parallel), and the "dead" collector answers. A `RefusingPort` keeps a
/// socket bound to the port instead, without ever calling `listen()`:
///
/// - every connection to it is refused (the kernel answers the `SYN` with a reset), so an
///   exporter sees "connection refused" at every attempt;
/// - nobody else can bind it while the value lives: the socket is bound without
///   `SO_REUSEADDR`, so even a bind that sets it (as `std::net::TcpListener::bind` and
///   tokio's do) fails with "address in use", and the kernel never picks it for port 0 nor
///   as the source port of an outgoing connection (which rules out a connection to itself).
///
/// A holder bound *with* `SO_REUSEADDR` would not do: on Linux, two sockets that both set
/// it may bind the same address as long as neither listens.
///
/// Keep the value alive for as long as something may connect (usually the whole test);
/// dropping it, or [`release`](RefusingPort::release), frees the port.
///
/// ```
/// use std::io::ErrorKind;
/// use std::net::{TcpListener, TcpStream};
/// use otlpkit_testkit::RefusingPort;
///
/// let dead = RefusingPort::new()?;
/// // Point an exporter at `dead.endpoint()`, e.g. `http://127.0.0.1:43172`: every
/// // attempt is refused.
/// let refused = TcpStream::connect(dead.addr()).unwrap_err();
/// assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
/// // And no other socket can take the port while `dead` lives.
/// assert!(TcpListener::bind(dead.addr()).is_err());
/// # Ok::<(), otlpkit_testkit::ReserveError>(())
/// ```
#[derive(Debug)]
pub struct RefusingPort {
    socket: Socket,
    addr: SocketAddr,
}

impl RefusingPort {
    /// Reserves a free port on `127.0.0.1`, chosen by the kernel.
    pub fn new() -> Result<RefusingPort, ReserveError> {
        RefusingPort::at(0)
    }

    /// Reserves `port` on `127.0.0.1` (0: a free one, chosen by the kernel), e.g. to hold
    /// again a port that a collector of the test's own has just released.
    ///
    /// Fails if any socket is bound to the port, whatever its options, or if a connection
    /// on it is still in `TIME_WAIT`.
    pub fn at(port: u16) -> Result<RefusingPort, ReserveError> {
        let requested = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port));
        let error = |source| ReserveError {
            addr: requested,
            source,
        };
        // `Socket::new` sets close-on-exec: child processes do not inherit the reservation.
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(error)?;
        // Off by default; said explicitly because the reservation depends on it.
        socket.set_reuse_address(false).map_err(error)?;
        socket.bind(&SockAddr::from(requested)).map_err(error)?;
        let addr = socket
            .local_addr()
            .map_err(error)?
            .as_socket()
            .ok_or_else(|| error(std::io::Error::other("the bound address is not IP")))?;
        Ok(RefusingPort { socket, addr })
    }

    /// The port number.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The address, `127.0.0.1` and [`port`](RefusingPort::port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint to give an exporter, gRPC or HTTP alike: `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A URL on the port: [`endpoint`](RefusingPort::endpoint) followed by `path`, e.g.
    /// `url("/v1/traces")`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Frees the port and returns its number, for a process that must bind it itself (a
    /// collector the test starts). Until that process binds it, anyone can take it: call this
    /// as late as possible.
    pub fn release(self) -> u16 {
        let port = self.port();
        drop(self.socket);
        port
    }
}

#[cfg(test)]
mod tests {
    use std::io::ErrorKind;
    use std::net::{TcpListener, TcpStream};

    use super::*;

    fn tokio_bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap()
            .block_on(tokio::net::TcpListener::bind(addr))
    }

    #[test]
    fn connections_are_refused_and_the_port_cannot_be_bound_while_it_lives() {
        let dead = RefusingPort::new().unwrap();
        let addr = dead.addr();
        assert_eq!(addr.ip(), Ipv4Addr::LOCALHOST);
        assert_ne!(dead.port(), 0);
        assert_eq!(dead.endpoint(), format!("http://127.0.0.1:{}", dead.port()));
        assert_eq!(
            dead.url("/v1/traces"),
            format!("http://127.0.0.1:{}/v1/traces", dead.port())
        );

        for _ in 0..3 {
            let error = TcpStream::connect(addr).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
        }
        // Both set SO_REUSEADDR before binding.
        let error = TcpListener::bind(addr).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        let error = tokio_bind(addr).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        // The wildcard address covers 127.0.0.1 too.
        let error = TcpListener::bind(("0.0.0.0", dead.port())).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::AddrInUse, "{error}");
        // A second reservation of the same port fails and names the address.
        let error = RefusingPort::at(dead.port()).unwrap_err();
        assert_eq!(error.addr, addr);
        assert_eq!(error.source.kind(), ErrorKind::AddrInUse);
        assert!(error.to_string().contains(&addr.to_string()), "{error}");

        // Released, the port is free again: it was the value that held it.
        let port = dead.release();
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        drop(listener);
        let again = RefusingPort::at(port).unwrap();
        assert_eq!(again.port(), port);
        let error = TcpStream::connect(again.addr()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ConnectionRefused, "{error}");
    }
}
