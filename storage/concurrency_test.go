package storage

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestConcurrentUse(t *testing.T) {
	s, _ := newStore(t)
	const writers, perWriter = 4, 100
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := id(byte(0x10 + w))
			// Half one by one, half in batches, in reverse so marks must jump.
			for seq := uint64(perWriter); seq > perWriter/2; seq-- {
				if _, err := s.Append(circleA, entry(a, seq)); err != nil {
					errs <- err
					return
				}
			}
			var batch []Entry
			for seq := uint64(1); seq <= perWriter/2; seq++ {
				batch = append(batch, entry(a, seq))
				if len(batch) == 10 {
					if _, err := s.AppendBatch(circleA, batch); err != nil {
						errs <- err
						return
					}
					batch = nil
				}
			}
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := range 2 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				switch (i + r) % 4 {
				case 0:
					_, err = s.Latest(circleA, nil, 20)
				case 1:
					_, err = s.HighWater(circleA)
				case 2:
					_, err = s.Envelopes(circleA, id(0x10), 0, 20)
				case 3:
					err = s.Put(circleA, "settings", []byte(fmt.Sprint("k", r)), []byte("v"), false)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent call: got %v, want nil", err)
	}
	hw, err := s.HighWater(circleA)
	must(t, err)
	for w := range writers {
		if got := hw[id(byte(0x10+w))]; got != perWriter {
			t.Errorf("HighWater of writer %d: got %d, want %d", w, got, perWriter)
		}
	}
	n, err := s.Count(circleA)
	must(t, err)
	if n != writers*perWriter {
		t.Errorf("Count: got %d, want %d", n, writers*perWriter)
	}
	// Close while nothing runs, then every call is ErrClosed.
	must(t, s.Close())
	if _, err := s.Latest(circleA, nil, 1); !errors.Is(err, ErrClosed) {
		t.Errorf("Latest after Close: got %v, want ErrClosed", err)
	}
}
