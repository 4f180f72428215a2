package scanner

import (
	"errors"
	"io"
	"sync"
)

// readahead reads a stream on a goroutine of its own, a few blocks ahead
// of its reader. The walk puts it between the decompressor and the tar
// reader: inflating a layer (and verifying the compressed digest, and
// reading the network) is most of a scan's CPU, and with it on a second
// core the tar parsing, the copies into kept files and the analyzers'
// hashing run alongside instead of after each other.
//
// Memory is bounded by blocks × blockSize whatever the stream holds; a
// decompression bomb stops at the unpacked-size limit on the reader's side
// while the producer is at most that far ahead.
type readahead struct {
	src  io.Reader
	full chan block
	free chan []byte
	done chan struct{} // closed by stop: the producer must return
	exit chan struct{} // closed by the producer when it returned

	// srcErr is the source's error other than io.EOF, if it returned one;
	// read it only after stop.
	srcErr error

	cur     []byte // unread part of the current block
	curBuf  []byte // the current block's buffer, returned to free when read
	err     error  // the error after cur, once cur is read
	stopped sync.Once
}

type block struct {
	data []byte
	err  error
}

const (
	readaheadBlockSize = 256 << 10
	readaheadBlocks    = 4
)

func newReadahead(src io.Reader) *readahead {
	r := &readahead{
		src:  src,
		full: make(chan block, readaheadBlocks),
		free: make(chan []byte, readaheadBlocks),
		done: make(chan struct{}),
		exit: make(chan struct{}),
	}
	for range readaheadBlocks {
		r.free <- make([]byte, readaheadBlockSize)
	}
	go r.produce()
	return r
}

func (r *readahead) produce() {
	defer close(r.exit)
	for {
		var buf []byte
		select {
		case buf = <-r.free:
		case <-r.done:
			return
		}
		// Whole blocks keep the hand-overs few; a short last block is the
		// end of the stream, not an error.
		n, err := io.ReadFull(r.src, buf)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		if err != nil && err != io.EOF {
			r.srcErr = err
		}
		select {
		case r.full <- block{data: buf[:n], err: err}:
		case <-r.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (r *readahead) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.cur) == 0 {
		if r.curBuf != nil {
			r.free <- r.curBuf[:cap(r.curBuf)]
			r.curBuf = nil
		}
		if r.err != nil {
			return 0, r.err
		}
		var b block
		select {
		case b = <-r.full:
		case <-r.exit: // stopped: nothing more will come
			select {
			case b = <-r.full:
			default:
				return 0, io.ErrClosedPipe
			}
		}
		r.cur, r.curBuf, r.err = b.data, b.data, b.err
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// stop makes the producer return and waits until it has, so that the
// source may be read or closed by others afterwards. A producer blocked in
// the source's Read returns when that Read does: close the source first to
// hurry it. stop may be called more than once.
func (r *readahead) stop() {
	r.stopped.Do(func() { close(r.done) })
	<-r.exit
}
