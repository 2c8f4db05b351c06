package server

import (
	"context"
	"log/slog"

	"k8s.io/klog/v2"
)

// quietKlog routes the klog output of Tessera (and the CT library) into the
// server's logger, with its chatty informational messages ("Failed to fetch
// old checkpoint" on a fresh log, say) demoted to debug. klog is global, so
// the last server created in a process wins; one per process is the norm.
func quietKlog(l *slog.Logger) {
	klog.SetSlogLogger(slog.New(demote{l.Handler()}))
}

type demote struct{ slog.Handler }

func (d demote) Enabled(ctx context.Context, lvl slog.Level) bool {
	return d.Handler.Enabled(ctx, lower(lvl))
}

func (d demote) Handle(ctx context.Context, r slog.Record) error {
	r.Level = lower(r.Level)
	return d.Handler.Handle(ctx, r)
}

func (d demote) WithAttrs(a []slog.Attr) slog.Handler { return demote{d.Handler.WithAttrs(a)} }
func (d demote) WithGroup(n string) slog.Handler      { return demote{d.Handler.WithGroup(n)} }

func lower(l slog.Level) slog.Level {
	if l < slog.LevelWarn {
		return slog.LevelDebug
	}
	return l
}
