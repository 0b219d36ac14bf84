module github.com/rafaelabs/rafael/genome/genomegrpc

go 1.26.0

require (
	github.com/rafaelabs/rafael v0.0.0
	google.golang.org/grpc v1.67.1
)

require (
	golang.org/x/net v0.28.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.17.0 // indirect
	google.golang.org/genproto/googleapis/rpc v0.0.0-20240814211410-ddb44dafa142 // indirect
	google.golang.org/protobuf v1.36.1 // indirect
)

replace github.com/rafaelabs/rafael => ../..
