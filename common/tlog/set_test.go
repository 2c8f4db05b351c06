package tlog

import "testing"

func TestSETPayloadIsJCS(t *testing.T) {
	for _, tc := range []struct {
		body        []byte
		time, index int64
		logID       string
	}{
		{[]byte(`{"a":1}`), 1710869186, 79571823, "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d"},
		{nil, 0, 0, ""},
		{[]byte{0xff, 0xfe, 0x00}, 1<<53 - 1, 1<<53 - 1, "00"},
	} {
		fast, err := setPayload(tc.body, tc.time, tc.logID, tc.index)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := setPayloadJCS(tc.body, tc.time, tc.logID, tc.index)
		if err != nil {
			t.Fatal(err)
		}
		if string(fast) != string(slow) {
			t.Errorf("fast %s\njcs  %s", fast, slow)
		}
	}
}
