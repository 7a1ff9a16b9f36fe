//! Addresses of the simulated nodes. Every node has a dense index into the
//! fabric; roles occupy fixed ranges so that an address tells its role.

use std::fmt;

/// Index of a node on the fabric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Addr(pub u32);

/// A broker id, 0-based.
pub type BrokerId = usize;

/// A partition index over all topics (events topic first, then the dead-letter topic).
pub type PartitionId = usize;

/// The layout of roles on the fabric: controller, brokers, gateways, clients,
/// then the read path (stream processor instances and the sink database) when
/// the scenario has one, then the lake writers of a cold path, then the
/// serving layer's reader and cache nodes.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    /// Number of brokers.
    pub brokers: usize,
    /// Number of gateways.
    pub gateways: usize,
    /// Number of clients.
    pub clients: usize,
    /// Number of stream processor instances (0: no read path).
    pub processors: usize,
    /// Whether a sink database node exists (it does whenever processors do).
    pub sink: bool,
    /// Number of lake writers (0: no cold path).
    pub lake_writers: usize,
    /// Whether the serving layer's reader node exists.
    pub reader: bool,
    /// Whether the serving layer's cache node exists.
    pub cache: bool,
    /// Consumers of every `[[subscription]]`, numbered across subscriptions in file order.
    pub subscribers: usize,
}

/// What a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The controller.
    Controller,
    /// Broker with id.
    Broker(BrokerId),
    /// Gateway instance.
    Gateway(usize),
    /// Client.
    Client(usize),
    /// Stream processor instance.
    Processor(usize),
    /// The sink database.
    Sink,
    /// A lake writer of the cold path.
    LakeWriter(usize),
    /// The serving layer's query load.
    Reader,
    /// The serving layer's cache.
    Cache,
    /// A consumer of a `[[subscription]]`, numbered across subscriptions.
    Subscriber(usize),
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Role::Controller => write!(f, "controller"),
            Role::Broker(i) => write!(f, "broker-{i}"),
            Role::Gateway(i) => write!(f, "gateway-{i}"),
            Role::Client(i) => write!(f, "client-{i}"),
            Role::Processor(i) => write!(f, "processor-{i}"),
            Role::Sink => write!(f, "sink"),
            Role::LakeWriter(i) => write!(f, "lake-writer-{i}"),
            Role::Reader => write!(f, "reader"),
            Role::Cache => write!(f, "cache-0"),
            Role::Subscriber(i) => write!(f, "subscriber-{i}"),
        }
    }
}

impl Layout {
    /// Total nodes.
    pub fn nodes(&self) -> usize {
        1 + self.brokers
            + self.gateways
            + self.clients
            + self.processors
            + usize::from(self.sink)
            + self.lake_writers
            + usize::from(self.reader)
            + usize::from(self.cache)
            + self.subscribers
    }
    /// The controller's address.
    pub fn controller(&self) -> Addr {
        Addr(0)
    }
    /// A broker's address.
    pub fn broker(&self, b: BrokerId) -> Addr {
        Addr(1 + b as u32)
    }
    /// A gateway's address.
    pub fn gateway(&self, g: usize) -> Addr {
        Addr((1 + self.brokers + g) as u32)
    }
    /// A client's address.
    pub fn client(&self, c: usize) -> Addr {
        Addr((1 + self.brokers + self.gateways + c) as u32)
    }
    /// A processor instance's address.
    pub fn processor(&self, i: usize) -> Addr {
        Addr((1 + self.brokers + self.gateways + self.clients + i) as u32)
    }
    /// The sink's address (meaningful only when `sink` is set).
    pub fn sink(&self) -> Addr {
        Addr((1 + self.brokers + self.gateways + self.clients + self.processors) as u32)
    }
    /// A lake writer's address.
    pub fn lake_writer(&self, i: usize) -> Addr {
        Addr((1 + self.brokers + self.gateways + self.clients + self.processors + usize::from(self.sink) + i) as u32)
    }
    /// The serving layer's reader (meaningful only when `reader` is set).
    pub fn reader(&self) -> Addr {
        self.lake_writer(self.lake_writers)
    }
    /// The serving layer's cache (meaningful only when `cache` is set).
    pub fn cache(&self) -> Addr {
        Addr(self.reader().0 + u32::from(self.reader))
    }
    /// A subscription consumer's address, by its number across subscriptions.
    pub fn subscriber(&self, i: usize) -> Addr {
        Addr(self.cache().0 + u32::from(self.cache) + i as u32)
    }
    /// The role at an address.
    pub fn role(&self, a: Addr) -> Role {
        let i = a.0 as usize;
        if i == 0 {
            Role::Controller
        } else if i <= self.brokers {
            Role::Broker(i - 1)
        } else if i <= self.brokers + self.gateways {
            Role::Gateway(i - 1 - self.brokers)
        } else if i <= self.brokers + self.gateways + self.clients {
            Role::Client(i - 1 - self.brokers - self.gateways)
        } else if i <= self.brokers + self.gateways + self.clients + self.processors {
            Role::Processor(i - 1 - self.brokers - self.gateways - self.clients)
        } else if self.sink && i == self.sink().0 as usize {
            Role::Sink
        } else if i < self.reader().0 as usize {
            Role::LakeWriter(i - self.lake_writer(0).0 as usize)
        } else if self.reader && i == self.reader().0 as usize {
            Role::Reader
        } else if self.cache && i == self.cache().0 as usize {
            Role::Cache
        } else {
            Role::Subscriber(i - self.subscriber(0).0 as usize)
        }
    }
}
