module github.com/drsorch/drsorch

go 1.26
