package milvus

import (
	"context"
	"strconv"

	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-proto/go-api/v2/milvuspb"

	"github.com/raftvec/raftvec/rpc/pb"
)

// defaultDB is the one database: raftvec has no databases, and every
// collection is in Milvus's "default".
const defaultDB = "default"

func (s *Server) ListDatabases(ctx context.Context, req *milvuspb.ListDatabasesRequest) (*milvuspb.ListDatabasesResponse, error) {
	return &milvuspb.ListDatabasesResponse{Status: success(), DbNames: []string{defaultDB}, CreatedTimestamp: []uint64{0}, DbIds: []int64{1}}, nil
}

func (s *Server) DescribeDatabase(ctx context.Context, req *milvuspb.DescribeDatabaseRequest) (*milvuspb.DescribeDatabaseResponse, error) {
	if n := req.GetDbName(); n != "" && n != defaultDB {
		return &milvuspb.DescribeDatabaseResponse{Status: &commonpb.Status{Code: codeDatabaseMissing, ErrorCode: commonpb.ErrorCode_UnexpectedError,
			Reason: "database not found[database=" + n + "]: raftvec has only the database \"default\""}}, nil
	}
	return &milvuspb.DescribeDatabaseResponse{Status: success(), DbName: defaultDB, DbID: 1}, nil
}

func (s *Server) GetComponentStates(ctx context.Context, req *milvuspb.GetComponentStatesRequest) (*milvuspb.ComponentStates, error) {
	return &milvuspb.ComponentStates{Status: success(),
		State: &milvuspb.ComponentInfo{Role: "raftvec", StateCode: commonpb.StateCode_Healthy}}, nil
}

func (s *Server) GetPartitionStatistics(ctx context.Context, req *milvuspb.GetPartitionStatisticsRequest) (*milvuspb.GetPartitionStatisticsResponse, error) {
	var parts []string
	if p := req.GetPartitionName(); p != "" {
		parts = []string{p}
	}
	n, _, err := s.countMatching(ctx, req.GetCollectionName(), "", parts,
		&pb.ReadOptions{Level: pb.ConsistencyLevel_BOUNDED, MaxStalenessMs: boundedStalenessMs})
	if err != nil {
		return &milvuspb.GetPartitionStatisticsResponse{Status: statusOf(err)}, nil
	}
	return &milvuspb.GetPartitionStatisticsResponse{Status: success(), Stats: []*commonpb.KeyValuePair{pair("row_count", strconv.FormatInt(n, 10))}}, nil
}

// ManualCompaction compacts every shard at once; the answer comes when it
// is done, so GetCompactionState always reports Completed.
func (s *Server) ManualCompaction(ctx context.Context, req *milvuspb.ManualCompactionRequest) (*milvuspb.ManualCompactionResponse, error) {
	r, err := s.api.Compact(ctx, &pb.CompactRequest{Collection: req.GetCollectionName()})
	if err != nil {
		return &milvuspb.ManualCompactionResponse{Status: statusOf(err)}, nil
	}
	return &milvuspb.ManualCompactionResponse{Status: success(), CompactionID: 1, CompactionPlanCount: int32(r.SegmentsMerged)}, nil
}

func (s *Server) GetCompactionState(ctx context.Context, req *milvuspb.GetCompactionStateRequest) (*milvuspb.GetCompactionStateResponse, error) {
	return &milvuspb.GetCompactionStateResponse{Status: success(), State: commonpb.CompactionState_Completed}, nil
}

func (s *Server) ListAliases(ctx context.Context, req *milvuspb.ListAliasesRequest) (*milvuspb.ListAliasesResponse, error) {
	return &milvuspb.ListAliasesResponse{Status: success(), DbName: defaultDB, CollectionName: req.GetCollectionName()}, nil
}
