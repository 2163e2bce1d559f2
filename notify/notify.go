// Package notify tells people about executions: started, paused (with the
// signed resume and cancel links), resumed, completed, failed, cancelled. On
// one machine the notifications go to the log; on AWS to an SNS topic, in the
// replaced system's shape. Notifiers send what the engine gives them and decide nothing.
package notify

import (
	"context"
	"log/slog"

	"github.com/drsorch/drsorch"
)

// Log is drsorch.Notifier on a structured logger, for one machine. The signed
// resume and cancel links of a paused notification are credentials (anyone
// holding one may resume or cancel without logging in), so they are never
// logged: the line says only that the notification had them, and an operator
// resumes or cancels through the API.
type Log struct {
	log *slog.Logger
}

var _ drsorch.Notifier = (*Log)(nil)

// NewLog returns a Log notifier writing to l (slog.Default() when nil).
func NewLog(l *slog.Logger) *Log {
	if l == nil {
		l = slog.Default()
	}
	return &Log{log: l}
}

// Notify writes one log line for the notification.
func (l *Log) Notify(ctx context.Context, n drsorch.Notification) error {
	attrs := []slog.Attr{
		slog.String("eventType", n.Event),
		slog.String("executionId", n.ExecutionID),
		slog.String("planId", n.PlanID),
		slog.String("planName", n.PlanName),
		slog.String("executionType", string(n.ExecutionType)),
		slog.String("status", string(n.Status)),
	}
	if n.Wave != nil {
		attrs = append(attrs, slog.Int("pausedBeforeWave", *n.Wave))
	}
	if n.ResumeURL != "" || n.CancelURL != "" {
		attrs = append(attrs, slog.Bool("hasCallbackLinks", true))
	}
	l.log.LogAttrs(ctx, slog.LevelInfo, "execution "+n.Event+": "+n.Message, attrs...)
	return nil
}
