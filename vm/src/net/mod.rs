//! Networking of the parties: TLS identities, the hosts file, and the transport.

pub mod hosts;
pub mod tls;
pub mod transport;

pub use transport::{Hello, NetConfig, Network, Part, Stream};
