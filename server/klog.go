package server

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"k8s.io/klog/v2"
)

// quietKlog routes the klog output of Tessera (and the CT library) into the
// server's logger, with its chatty informational messages ("Failed to fetch
// old checkpoint" on a fresh log, say) demoted to debug. klog's logger is
// global and not safe to replace while logs run, so it is installed once and
// forwards to the logger of the newest server.
func quietKlog(l *slog.Logger) {
	klogTarget.Store(l)
	klogOnce.Do(func() { klog.SetSlogLogger(slog.New(forward{})) })
}

var (
	klogOnce   sync.Once
	klogTarget atomic.Pointer[slog.Logger]
)

// forward sends records to klogTarget, informational ones at debug level.
type forward struct {
	attrs []slog.Attr
	group string
}

func (f forward) handler() slog.Handler {
	h := klogTarget.Load().Handler()
	if len(f.attrs) > 0 {
		h = h.WithAttrs(f.attrs)
	}
	if f.group != "" {
		h = h.WithGroup(f.group)
	}
	return h
}

func (f forward) Enabled(ctx context.Context, lvl slog.Level) bool {
	return f.handler().Enabled(ctx, lower(lvl))
}

func (f forward) Handle(ctx context.Context, r slog.Record) error {
	r.Level = lower(r.Level)
	return f.handler().Handle(ctx, r)
}

func (f forward) WithAttrs(a []slog.Attr) slog.Handler {
	return forward{attrs: append(append([]slog.Attr(nil), f.attrs...), a...), group: f.group}
}

func (f forward) WithGroup(n string) slog.Handler { return forward{attrs: f.attrs, group: n} }

func lower(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}
