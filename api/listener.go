package api

import (
	"io"
	"net"
	"sync"
	"time"
)

// lingerTime bounds how long a closing connection keeps reading what its
// client still sends.
const lingerTime = 2 * time.Second

// limitListener accepts at most n connections open at once: Accept waits
// for one to close, and meanwhile new clients wait in the kernel's queue
// instead of the server running out of file descriptors.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	linger    time.Duration
}

func newLimitListener(ln net.Listener, n int, linger time.Duration) *limitListener {
	return &limitListener{Listener: ln, slots: make(chan struct{}, n), done: make(chan struct{}), linger: linger}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &lingerConn{Conn: c, linger: l.linger, release: func() { <-l.slots }}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// lingerConn closes like a careful HTTP server should (RFC 9112 section
// 9.6): it first sends FIN, then reads and drops what the client still
// sends, for up to linger, and only then closes. Closing at once with
// unread data makes the kernel answer with a reset, and a client still
// sending a body it was refused (curl keeps sending after "Connection:
// close") would see "connection reset" instead of the server's 401 or
// 400. The drain runs in the background, so Close never blocks the
// server (Shutdown closes idle connections one after the other); the
// connection's slot is freed when it is really closed.
type lingerConn struct {
	net.Conn
	linger  time.Duration
	once    sync.Once
	release func()
}

func (c *lingerConn) Close() error {
	c.once.Do(func() { go c.lingerClose() })
	return nil
}

func (c *lingerConn) lingerClose() {
	defer c.release()
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
		c.Conn.SetReadDeadline(time.Now().Add(c.linger))
		io.Copy(io.Discard, c.Conn)
	}
	c.Conn.Close()
}

// CloseWrite lets net/http half-close the connection through the wrapper.
func (c *lingerConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// ReadFrom keeps the kernel's sendfile path of *net.TCPConn, which
// net/http finds by asserting io.ReaderFrom on the connection.
func (c *lingerConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
