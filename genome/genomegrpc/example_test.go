package genomegrpc_test

import (
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/genome"
	"github.com/rafaelabs/rafael/genome/genomegrpc"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// A client connection whose calls go through the genome its RAFAEL test
// evolved; Get is safe to repeat after any failure.
func Example() {
	p, err := genome.Compile(&genome.Genome{Module: "inventory",
		Retry:   &genome.Retry{MaxAttempts: 3, BaseDelay: 20 * time.Millisecond, MaxDelay: time.Second, Multiplier: 2},
		Timeout: &genome.Timeout{PerAttempt: 300 * time.Millisecond, Overall: time.Second}})
	if err != nil {
		panic(err)
	}
	cc, err := grpc.NewClient("127.0.0.1:50051", grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(genomegrpc.UnaryClientInterceptor(p, "/inventory.v1.Inventory/Get")),
		grpc.WithStreamInterceptor(genomegrpc.StreamClientInterceptor(p)))
	if err != nil {
		panic(err)
	}
	defer cc.Close()
	fmt.Println(cc.Target())
	// Output: 127.0.0.1:50051
}
