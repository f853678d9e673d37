//! Typed handles for host metrics (an addition to the upstream SDK, which offers only the raw host calls).

use crate::hostcalls;
use crate::types::{MetricType, Status};

/// A metric defined in the host; cheap to copy, so define once in `on_configure` and keep it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Metric {
    id: u32,
    kind: MetricType,
}

impl Metric {
    /// Defines (or looks up) a counter.
    pub fn counter(name: &str) -> Result<Metric, Status> {
        Metric::define(MetricType::Counter, name)
    }

    /// Defines (or looks up) a gauge.
    pub fn gauge(name: &str) -> Result<Metric, Status> {
        Metric::define(MetricType::Gauge, name)
    }

    /// Defines (or looks up) a histogram.
    pub fn histogram(name: &str) -> Result<Metric, Status> {
        Metric::define(MetricType::Histogram, name)
    }

    fn define(kind: MetricType, name: &str) -> Result<Metric, Status> {
        Ok(Metric { id: hostcalls::define_metric(kind, name)?, kind })
    }

    /// The host's id of this metric.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The kind of this metric.
    pub fn kind(&self) -> MetricType {
        self.kind
    }

    /// Adds `offset` (counters: must be positive; gauges: may be negative).
    pub fn increment(&self, offset: i64) -> Result<(), Status> {
        hostcalls::increment_metric(self.id, offset)
    }

    /// Counter: adds `value`; gauge: sets it; histogram: records a sample.
    pub fn record(&self, value: u64) -> Result<(), Status> {
        hostcalls::record_metric(self.id, value)
    }

    /// Reads a counter or gauge (histograms cannot be read).
    pub fn value(&self) -> Result<u64, Status> {
        hostcalls::get_metric(self.id)
    }
}
