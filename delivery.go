package planbot

import "time"

// Delivery is one attempt to deliver the App's webhook, as GitHub records
// it. A redelivery is a new attempt with the same GUID.
type Delivery struct {
	// ID identifies the attempt; a redelivery request takes it.
	ID int64
	// GUID is the X-GitHub-Delivery header, shared by all attempts of a
	// delivery.
	GUID   string
	Event  string
	Action string
	// StatusCode is the status planbot answered, 0 when GitHub could not
	// connect.
	StatusCode  int
	Redelivery  bool
	DeliveredAt time.Time
}

// OK reports whether the attempt was answered with a 2xx status.
func (d Delivery) OK() bool { return d.StatusCode >= 200 && d.StatusCode < 300 }
