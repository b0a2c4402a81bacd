package api

// Metrics use github.com/prometheus/client_golang, the Prometheus project's
// own Go client: it writes the exposition format every scraper reads
// (text and OpenMetrics, by content negotiation), and its Go runtime and
// process collectors come with it. Operators of zot, Harbor and Pulp graph
// those names already. kiln registers nothing globally: serve builds one
// prometheus.Registry and hands it to the server (Config.Metrics).

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/gc"
	"github.com/kiln-repo/kiln/storage"
)

// DefaultBlobStatsTTL is how long a count of the blob store is reused:
// counting walks every blob, which a scrape every 15s must not do.
const DefaultBlobStatsTTL = 5 * time.Minute

// metrics are the server's instruments.
type metrics struct {
	reg             *prometheus.Registry
	requests        *prometheus.CounterVec
	latency         *prometheus.HistogramVec
	bytesIn         *prometheus.CounterVec
	bytesOut        *prometheus.CounterVec
	ingested        prometheus.Counter
	publishes       *prometheus.CounterVec
	publishDuration prometheus.Histogram
	blobPushes      prometheus.Counter
	blobPulls       prometheus.Counter
	gcRuns          prometheus.Counter
	gcFreed         prometheus.Counter
	gcDeleted       prometheus.Counter
}

func counter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

func newMetrics(reg *prometheus.Registry) *metrics {
	byRoute := []string{"route"}
	m := &metrics{reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_http_requests_total",
			Help: "HTTP requests answered, by route name, method and status."}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "kiln_http_request_duration_seconds",
			Help: "Time to answer a request, by route name.", Buckets: prometheus.ExponentialBuckets(0.001, 4, 10)}, byRoute),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_http_request_bytes_total",
			Help: "Request body bytes read, by route name."}, byRoute),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_http_response_bytes_total",
			Help: "Response body bytes written, by route name."}, byRoute),
		ingested: counter("kiln_packages_ingested_total", "Debian packages stored by uploads (a retried identical file counts again)."),
		publishes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "kiln_publishes_total",
			Help: "Publishes of apt trees, by result (ok, error)."}, []string{"result"}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "kiln_publish_duration_seconds",
			Help: "Time to write and record one publication.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 10)}),
		blobPushes: counter("kiln_registry_blob_pushes_total", "Registry blobs pushed whole (monolithic or the end of an upload session)."),
		blobPulls:  counter("kiln_registry_blob_pulls_total", "Registry blob GETs answered with the blob or a redirect to it."),
		gcRuns:     counter("kiln_gc_runs_total", "Garbage collections completed (dry runs included)."),
		gcFreed:    counter("kiln_gc_freed_bytes_total", "Bytes of blobs deleted by garbage collection."),
		gcDeleted:  counter("kiln_gc_deleted_blobs_total", "Blobs deleted by garbage collection."),
	}
	reg.MustRegister(m.requests, m.latency, m.bytesIn, m.bytesOut, m.ingested, m.publishes, m.publishDuration,
		m.blobPushes, m.blobPulls, m.gcRuns, m.gcFreed, m.gcDeleted)
	return m
}

// registerGauges adds the values computed on scrape: database size, open
// upload sessions, and the blob store's count and size (cached, see
// blobStats). Registering twice (one Registry for two servers) is refused
// by the registry; the first server's gauges stay.
func (s *Server) registerGauges() {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	bs := &blobStats{blobs: s.store.Blobs(), ttl: s.cfg.BlobStatsTTL, log: s.log.Warn}
	cs := []prometheus.Collector{
		gauge("kiln_database_bytes", "Size of the metadata database (bbolt).", s.databaseBytes),
		gauge("kiln_blobs", "Blobs in the blob store (counted at most once per blob-stats TTL).", func() float64 { n, _ := bs.get(); return float64(n) }),
		gauge("kiln_blob_bytes", "Bytes in the blob store (counted at most once per blob-stats TTL).", func() float64 { _, b := bs.get(); return float64(b) }),
	}
	if s.cfg.Registry != nil {
		cs = append(cs, gauge("kiln_registry_uploads_open", "Registry upload sessions open.", s.uploadsOpen))
	}
	for _, c := range cs {
		s.metrics.reg.Register(c)
	}
}

func (s *Server) databaseBytes() float64 {
	var n int64
	s.store.DB().View(func(tx *bolt.Tx) error { n = tx.Size(); return nil })
	return float64(n)
}

func (s *Server) uploadsOpen() float64 {
	n, err := s.cfg.Registry.OpenUploads()
	if err != nil {
		s.log.Warn("counting upload sessions", "err", err)
	}
	return float64(n)
}

// MetricsHandler serves the Prometheus exposition of the server's
// registry without auth: for a separate --metrics-listen address. The
// /metrics route of the API is the same handler behind a read token.
func (s *Server) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{ErrorLog: slogPrinter{s}})
}

type slogPrinter struct{ s *Server }

func (p slogPrinter) Println(v ...any) { p.s.log.Error("metrics", "err", v) }

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	s.MetricsHandler().ServeHTTP(w, r)
}

// observe records one answered request.
func (m *metrics) observe(route, method string, status int, in, out int64, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
	m.bytesIn.WithLabelValues(route).Add(float64(in))
	m.bytesOut.WithLabelValues(route).Add(float64(out))
}

// blobStats counts the blob store at most once per ttl: walking 100k
// blobs (or listing a bucket) on every scrape would make monitoring the
// heaviest client.
type blobStats struct {
	blobs storage.Blobs
	ttl   time.Duration
	log   func(msg string, args ...any)

	mu           sync.Mutex
	at           time.Time
	count, bytes int64
}

func (b *blobStats) get() (count, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.at.IsZero() && time.Since(b.at) < b.ttl {
		return b.count, b.bytes
	}
	var n, size int64
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := b.blobs.Walk(ctx, func(d storage.Descriptor) error { n, size = n+1, size+d.Size; return nil })
	if err != nil {
		b.log("counting blobs", "err", err)
		return b.count, b.bytes
	}
	b.at, b.count, b.bytes = time.Now(), n, size
	return n, size
}

func (m *metrics) published(err error, d time.Duration) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.publishes.WithLabelValues(result).Inc()
	m.publishDuration.Observe(d.Seconds())
}

func (m *metrics) collected(rep *gc.Report) {
	m.gcRuns.Inc()
	m.gcDeleted.Add(float64(rep.Deleted))
	m.gcFreed.Add(float64(rep.FreedBytes))
}
