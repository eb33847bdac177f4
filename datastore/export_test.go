package datastore

import "context"

// InsecureGetForTest is a GET of path with the client Ping uses
// (verification off), for the external tests: the status it answers.
func (s *ServerAPI) InsecureGetForTest(ctx context.Context, path string) (int, error) {
	code, _, err := s.get(ctx, s.client(nil), path)
	return code, err
}
