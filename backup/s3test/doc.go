// Package s3test runs backups against an S3-compatible server on
// loopback (gofakes3, in process) and a raftvec server process. It is a
// module of its own so that the test server stays out of raftvec's
// dependencies.
package s3test
