package sim

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Stats counts what a fleet does. It is an Observer; Snapshot reads it at any time.
type Stats struct {
	started       time.Time
	registrations atomic.Int64
	checkins      atomic.Int64
	wakes         atomic.Int64 // push wakes delivered to a device
	latency       histogram    // of successful check-ins

	mu       sync.Mutex
	errors   map[string]int64 // by op and kind, e.g. "checkin http_503"
	commands map[string]int64 // by type and status, e.g. "LOCK ACKNOWLEDGED"

	opsMu sync.RWMutex
	ops   map[string]*histogram // of successful requests, by op
}

// NewStats starts counting now.
func NewStats() *Stats {
	return &Stats{started: time.Now(), errors: map[string]int64{}, commands: map[string]int64{}, ops: map[string]*histogram{}}
}

// Ops that count as a registration (a device joining) and as a check-in (a device's routine request):
// the Android agent registers and checks in; an Apple device's enrollment ends with "enroll" (after its
// steps "profile", "scep", "authenticate" and "tokenupdate") and it then connects.
var (
	registerOps = map[string]bool{"register": true, "enroll": true}
	checkinOps  = map[string]bool{"checkin": true, "connect": true}
)

// Request implements Observer.
func (s *Stats) Request(op string, took time.Duration, err error) {
	if err != nil {
		s.mu.Lock()
		s.errors[op+" "+ErrorKind(err)]++
		s.mu.Unlock()
		return
	}
	switch {
	case registerOps[op]:
		s.registrations.Add(1)
	case checkinOps[op]:
		s.checkins.Add(1)
		s.latency.add(took)
	}
	s.opHistogram(op).add(took)
}

func (s *Stats) opHistogram(op string) *histogram {
	s.opsMu.RLock()
	h := s.ops[op]
	s.opsMu.RUnlock()
	if h != nil {
		return h
	}
	s.opsMu.Lock()
	defer s.opsMu.Unlock()
	if s.ops[op] == nil {
		s.ops[op] = &histogram{}
	}
	return s.ops[op]
}

// Command implements Observer.
func (s *Stats) Command(typ, status string) {
	s.mu.Lock()
	s.commands[typ+" "+status]++
	s.mu.Unlock()
}

// Snapshot is the stats at one moment.
type Snapshot struct {
	At            time.Time
	Elapsed       time.Duration
	Registrations int64
	Checkins      int64
	Wakes         int64
	Errors        map[string]int64
	Commands      map[string]int64
	latency       [buckets]int64
	ops           map[string]*[buckets]int64
}

// Snapshot reads the counters.
func (s *Stats) Snapshot() Snapshot {
	now := time.Now()
	out := Snapshot{At: now, Elapsed: now.Sub(s.started), Registrations: s.registrations.Load(),
		Checkins: s.checkins.Load(), Wakes: s.wakes.Load(), latency: s.latency.read()}
	s.mu.Lock()
	out.Errors, out.Commands = maps.Clone(s.errors), maps.Clone(s.commands)
	s.mu.Unlock()
	out.ops = map[string]*[buckets]int64{}
	s.opsMu.RLock()
	for op, h := range s.ops {
		counts := h.read()
		out.ops[op] = &counts
	}
	s.opsMu.RUnlock()
	return out
}

// ErrorCount is the number of failed requests.
func (s Snapshot) ErrorCount() int64 {
	var n int64
	for _, v := range s.Errors {
		n += v
	}
	return n
}

// Since is what happened between prev and s (rates and percentiles of that window).
func (s Snapshot) Since(prev Snapshot) Snapshot {
	out := Snapshot{At: s.At, Elapsed: s.At.Sub(prev.At), Registrations: s.Registrations - prev.Registrations,
		Checkins: s.Checkins - prev.Checkins, Wakes: s.Wakes - prev.Wakes, Errors: map[string]int64{}, Commands: map[string]int64{}}
	for k, v := range s.Errors {
		if d := v - prev.Errors[k]; d != 0 {
			out.Errors[k] = d
		}
	}
	for k, v := range s.Commands {
		if d := v - prev.Commands[k]; d != 0 {
			out.Commands[k] = d
		}
	}
	for i := range s.latency {
		out.latency[i] = s.latency[i] - prev.latency[i]
	}
	out.ops = map[string]*[buckets]int64{}
	for op, h := range s.ops {
		var d [buckets]int64
		for i := range h {
			d[i] = h[i]
			if p := prev.ops[op]; p != nil {
				d[i] -= p[i]
			}
		}
		out.ops[op] = &d
	}
	return out
}

// Ops are the operations that succeeded at least once, sorted.
func (s Snapshot) Ops() []string {
	var out []string
	for op, h := range s.ops {
		if total(h) > 0 {
			out = append(out, op)
		}
	}
	slices.Sort(out)
	return out
}

// OpCount is how many op requests succeeded.
func (s Snapshot) OpCount(op string) int64 {
	if h := s.ops[op]; h != nil {
		return total(h)
	}
	return 0
}

// OpPercentile is the latency of successful op requests below which p (0–100) of them fall, to within
// about 5%.
func (s Snapshot) OpPercentile(op string, p float64) time.Duration {
	if h := s.ops[op]; h != nil {
		return percentile(h, p)
	}
	return 0
}

// OpLine is a report line of each op's count, rate and latency p50/p99, in order.
func (s Snapshot) OpLine(ops ...string) string {
	var parts []string
	for _, op := range ops {
		n := s.OpCount(op)
		rate := 0.0
		if s.Elapsed > 0 {
			rate = float64(n) / s.Elapsed.Seconds()
		}
		parts = append(parts, fmt.Sprintf("%s %d (%.1f/s) p50 %s p99 %s", op, n, rate,
			round(s.OpPercentile(op, 50)), round(s.OpPercentile(op, 99))))
	}
	return strings.Join(parts, "  ")
}

func total(h *[buckets]int64) int64 {
	var n int64
	for _, c := range h {
		n += c
	}
	return n
}

// Rate is successful check-ins per second.
func (s Snapshot) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Checkins) / s.Elapsed.Seconds()
}

// Percentile is the check-in latency below which p (0–100) of them fall, to within about 5%.
func (s Snapshot) Percentile(p float64) time.Duration { return percentile(&s.latency, p) }

func percentile(h *[buckets]int64, p float64) time.Duration {
	all := total(h)
	if all == 0 {
		return 0
	}
	rank := int64(math.Ceil(p / 100 * float64(all)))
	var seen int64
	for i, n := range h {
		seen += n
		if seen >= rank {
			return bucketUpper(i)
		}
	}
	return bucketUpper(buckets - 1)
}

// String is one report line.
func (s Snapshot) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%6.0fs  checkins %d (%.1f/s)  p50 %s p95 %s p99 %s  registrations %d  errors %d",
		s.Elapsed.Seconds(), s.Checkins, s.Rate(), round(s.Percentile(50)), round(s.Percentile(95)),
		round(s.Percentile(99)), s.Registrations, s.ErrorCount())
	if len(s.Errors) > 0 {
		b.WriteString(" [" + joinCounts(s.Errors) + "]")
	}
	if s.Wakes > 0 {
		fmt.Fprintf(&b, "  wakes %d", s.Wakes)
	}
	if len(s.Commands) > 0 {
		b.WriteString("  commands [" + joinCounts(s.Commands) + "]")
	}
	return b.String()
}

func joinCounts(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// histogram counts durations in logarithmic buckets, each 5% wider than the last, from 50µs up.
const buckets = 300

type histogram struct{ counts [buckets]atomic.Int64 }

const (
	bucketBase   = 50 * time.Microsecond
	bucketGrowth = 1.05
)

func (h *histogram) add(d time.Duration) {
	i := 0
	if d > bucketBase {
		i = int(math.Ceil(math.Log(float64(d)/float64(bucketBase)) / math.Log(bucketGrowth)))
	}
	h.counts[min(i, buckets-1)].Add(1)
}

func (h *histogram) read() [buckets]int64 {
	var out [buckets]int64
	for i := range h.counts {
		out[i] = h.counts[i].Load()
	}
	return out
}

// bucketUpper is the largest duration bucket i holds.
func bucketUpper(i int) time.Duration {
	return time.Duration(float64(bucketBase) * math.Pow(bucketGrowth, float64(i)))
}
