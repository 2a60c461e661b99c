// Package qmp speaks the QEMU Machine Protocol over a Unix socket: the
// greeting and capabilities handshake, one command at a time, and the
// events QEMU sends between the replies.
package qmp

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Event is an asynchronous message from QEMU, such as GUEST_PANICKED.
type Event struct {
	Name string          `json:"event"`
	Data json.RawMessage `json:"data"`
}

// Error is QEMU's answer to a command it refused.
type Error struct {
	Class string `json:"class"`
	Desc  string `json:"desc"`
}

func (e *Error) Error() string { return e.Class + ": " + e.Desc }

// ErrClosed is what a command gets once the connection is gone (QEMU
// exited, or Close was called).
var ErrClosed = errors.New("qmp: connection closed")

// Client is one QMP connection. Commands are sent one at a time, so each
// reply answers the command in flight.
type Client struct {
	conn   net.Conn
	events chan Event
	cmd    sync.Mutex // one command in flight
	reply  chan message
	done   chan struct{} // closed when the reader stops
	err    error         // why the reader stopped; read after done
}

type message struct {
	Event  string          `json:"event"`
	Data   json.RawMessage `json:"data"`
	Return json.RawMessage `json:"return"`
	Error  *Error          `json:"error"`
	QMP    json.RawMessage `json:"QMP"`
}

// Dial connects to QEMU's QMP socket, retrying while QEMU has not created
// it yet, until ctx ends; then it reads the greeting and leaves the
// capabilities negotiation mode.
func Dial(ctx context.Context, path string) (*Client, error) {
	var conn net.Conn
	for {
		var d net.Dialer
		c, err := d.DialContext(ctx, "unix", path)
		if err == nil {
			conn = c
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("qmp: %s: %w (last: %v)", path, ctx.Err(), err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	return handshake(ctx, conn)
}

func handshake(ctx context.Context, conn net.Conn) (*Client, error) {
	c := &Client{conn: conn, events: make(chan Event, 64), reply: make(chan message, 1), done: make(chan struct{})}
	greeting := make(chan error, 1)
	go c.read(greeting)
	select {
	case err := <-greeting:
		if err != nil {
			conn.Close()
			return nil, err
		}
	case <-ctx.Done():
		conn.Close()
		return nil, fmt.Errorf("qmp: no greeting: %w", ctx.Err())
	}
	if _, err := c.Execute(ctx, "qmp_capabilities", nil); err != nil {
		conn.Close()
		return nil, err
	}
	return c, nil
}

// read decodes QEMU's messages until the connection ends: the greeting
// first, then replies to the command in flight and events.
func (c *Client) read(greeting chan<- error) {
	defer close(c.done)
	sc := bufio.NewScanner(c.conn)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	first := true
	for sc.Scan() {
		var m message
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			c.err = fmt.Errorf("qmp: %v in %q", err, sc.Bytes())
			break
		}
		switch {
		case first:
			first = false
			if m.QMP == nil {
				greeting <- fmt.Errorf("qmp: not a QMP greeting: %q", sc.Bytes())
				return
			}
			greeting <- nil
		case m.Event != "":
			select {
			case c.events <- Event{Name: m.Event, Data: m.Data}:
			default: // nobody reads them: drop, rather than stall the replies
			}
		default:
			c.reply <- m
		}
	}
	if c.err == nil {
		c.err = sc.Err()
	}
	if first {
		greeting <- fmt.Errorf("qmp: connection closed before the greeting (%v)", c.err)
	}
}

// Events delivers QEMU's events in order. It is buffered: events beyond
// its capacity are dropped while nobody reads.
func (c *Client) Events() <-chan Event { return c.events }

// Done is closed when the connection has ended.
func (c *Client) Done() <-chan struct{} { return c.done }

// Execute runs one command and returns its "return" value.
func (c *Client) Execute(ctx context.Context, command string, args any) (json.RawMessage, error) {
	c.cmd.Lock()
	defer c.cmd.Unlock()
	req := map[string]any{"execute": command}
	if args != nil {
		req["arguments"] = args
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := c.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp: %s: %w", command, err)
	}
	answer := func(m message) (json.RawMessage, error) {
		if m.Error != nil {
			return nil, fmt.Errorf("qmp: %s: %w", command, m.Error)
		}
		return m.Return, nil
	}
	select {
	case m := <-c.reply:
		return answer(m)
	case <-c.done:
		// QEMU may answer and hang up at once (quit does): the reader
		// queued the reply before it stopped, and select picks at random
		// among ready cases.
		select {
		case m := <-c.reply:
			return answer(m)
		default:
		}
		return nil, fmt.Errorf("qmp: %s: %w", command, ErrClosed)
	case <-ctx.Done():
		// The reply may still come: nothing else may be sent on this
		// connection, whose replies would be off by one.
		c.conn.Close()
		return nil, fmt.Errorf("qmp: %s: %w", command, ctx.Err())
	}
}

// Close ends the connection.
func (c *Client) Close() error {
	err := c.conn.Close()
	<-c.done
	return err
}
