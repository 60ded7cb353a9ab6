package client

import (
	"context"

	"google.golang.org/grpc"

	"github.com/raftvec/raftvec/rpc/pb"
)

// Export opens the stream of a collection's rows as of one ts (see
// pb.ExportRequest) on the preferred node, which fans it out over the
// shards. It is not retried: a broken export is started again.
func (c *Client) Export(ctx context.Context, req *pb.ExportRequest) (grpc.ServerStreamingClient[pb.ExportResponse], error) {
	cc, err := c.conn(c.current())
	if err != nil {
		return nil, err
	}
	return pb.NewRaftVecClient(cc).Export(c.withMetaIndex(ctx), req)
}
