package app

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/hearth-circles/hearth/app/record"
	"github.com/hearth-circles/hearth/crypto/identity"
	"github.com/hearth-circles/hearth/storage"
)

// SalvageReport says what Salvage found.
type SalvageReport struct {
	Circles  int // circles walked
	Messages int // messages written out
	Skipped  int // stored records that could not be read
	// Failed names the circles whose walk stopped early, with why; what was
	// read before the damage is written out all the same.
	Failed []string
}

// SalvagedMessage is one line of a salvage export.
type SalvagedMessage struct {
	Circle     string `json:"circle"`
	CircleName string `json:"circle_name,omitempty"`
	ID         string `json:"id"`
	Author     string `json:"author"`
	Nick       string `json:"nick,omitempty"`
	Kind       string `json:"kind"`
	Text       string `json:"text,omitempty"`
	SentAt     string `json:"sent_at,omitempty"`
	Lamport    uint64 `json:"lamport"`
}

// Salvage writes every message of every circle in the vault's store that
// still reads, one JSON object a line (SalvagedMessage), oldest first per
// circle: the export offered when a store is damaged. It needs no more than
// the store's keys: circles whose state or roster no longer load are
// walked all the same, with names and nicknames left out. The output is
// plain text; the caller decides where it goes.
func Salvage(v *Vault, w io.Writer) (SalvageReport, error) {
	var rep SalvageReport
	st := v.Store()
	ids, err := st.Circles()
	if err != nil {
		return rep, fmt.Errorf("salvage: %w", err)
	}
	enc := json.NewEncoder(w)
	var werr error
	for _, raw := range ids {
		id := CircleID(raw)
		rep.Circles++
		name := ""
		if b, err := st.Get(raw, bucketState, keyCircle); err == nil {
			var cs record.CircleState
			if proto.Unmarshal(b, &cs) == nil {
				name = cleanName(cs.Name)
			}
		}
		nicks := map[MemberID]string{}
		_ = st.List(raw, bucketMembers, func(_, b []byte) error {
			var m record.Member
			if proto.Unmarshal(b, &m) == nil {
				nicks[identity.Public{SignKey: m.SignKey}.ID()] = cleanName(m.Nick)
			}
			return nil // a damaged entry costs its nickname only
		})
		skipped, err := st.Salvage(raw, func(it storage.Item) error {
			s, rec, ok := decodeStored(it)
			if !ok {
				rep.Skipped++
				return nil
			}
			m := SalvagedMessage{
				Circle: id.String(), CircleName: name, ID: messageID(s.Author, s.Seq),
				Author: s.Author.String(), Nick: nicks[s.Author], Lamport: rec.Lamport,
				Kind: strings.ToLower(strings.TrimPrefix(rec.Kind.String(), "KIND_")),
			}
			if rec.SentAtMs != 0 {
				m.SentAt = time.UnixMilli(rec.SentAtMs).UTC().Format(time.RFC3339)
			}
			var p record.Post
			if m.Kind == "post" && proto.Unmarshal(rec.Body, &p) == nil {
				m.Text = cleanText(p.Text)
			}
			if werr = enc.Encode(&m); werr != nil {
				return werr
			}
			rep.Messages++
			return nil
		})
		rep.Skipped += skipped
		if werr != nil {
			return rep, fmt.Errorf("salvage: write: %w", werr)
		}
		if err != nil {
			rep.Failed = append(rep.Failed, fmt.Sprintf("%s: %v", id, err))
		}
	}
	return rep, nil
}
