//! Networking of the parties: TLS identities, the hosts file, and the transport.

pub mod hosts;
#[cfg(feature = "tamper")]
pub mod tamper;
pub mod tls;
pub mod transport;

pub use transport::{Hello, NetConfig, Network, Part, Stream};
