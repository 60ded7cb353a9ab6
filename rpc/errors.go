package rpc

import (
	"context"
	"errors"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/raftvec/raftvec/fsm"
	"github.com/raftvec/raftvec/raftnode"
	"github.com/raftvec/raftvec/shard"
)

// Status is the error catalogue at the gRPC boundary: every error a
// handler returns goes through it, on raftvec.v1 and on the Milvus
// endpoint alike.
func Status(err error) *status.Status {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(toStatus(err))
	return st
}

// toStatus maps err to a gRPC status error.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var nl *shard.NotLeaderError
	var be *shard.BehindError
	var se *shard.StaleError
	var pw *PartialWriteError
	switch {
	case errors.As(err, &pw):
		// Neither a definite failure nor a success, and not one a retry
		// can finish: the client must not take it for either.
		return status.Error(codes.Unknown, err.Error())
	case errors.As(err, &se):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.As(err, &nl):
		return status.Error(codes.Unavailable, err.Error())
	case errors.As(err, &be):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, fsm.ErrInvalid), errors.Is(err, raftnode.ErrTooLarge):
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, fsm.ErrAlreadyExists):
		// A row key that exists is bad input to Insert (Upsert replaces it).
		return status.Error(codes.InvalidArgument, err.Error())
	case errors.Is(err, fsm.ErrNotFound), errors.Is(err, fsm.ErrDropped):
		return status.Error(codes.NotFound, err.Error())
	case errors.Is(err, fsm.ErrTsTooOld):
		return status.Error(codes.OutOfRange, err.Error())
	case errors.Is(err, shard.ErrUnknownOutcome), errors.Is(err, raftnode.ErrUnknownOutcome):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, fsm.ErrNotReady), errors.Is(err, raftnode.ErrShutdown), errors.Is(err, shard.ErrClosed), errors.Is(err, fsm.ErrClosed),
		errors.Is(err, shard.ErrNoReplica), errors.Is(err, shard.ErrNoOracle):
		return status.Error(codes.Unavailable, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	}
	return status.Error(codes.Internal, err.Error())
}
