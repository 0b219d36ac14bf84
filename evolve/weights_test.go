package evolve

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestFitness(t *testing.T) {
	var zero Weights
	assert.InDelta(t, 1.0, zero.Fitness(1, 1, 1), 1e-12)
	assert.InDelta(t, 0.6, zero.Fitness(1, 0, 0), 1e-12, "default weights: 0.6 for success")
	assert.InDelta(t, 0.2, zero.Fitness(0, 1, 0), 1e-12)
	assert.InDelta(t, 0.5*0.6+0.2*0.5+0.2*0.25, zero.Fitness(0.5, 0.5, 0.25), 1e-12)
	assert.Equal(t, 0.0, zero.Fitness(math.NaN(), -1, -3), "NaN and negatives count as 0")
	assert.InDelta(t, 1.0, zero.Fitness(2, 7, 9), 1e-12, "clamped to 1")

	onlySuccess := Weights{Success: 1}
	assert.InDelta(t, 0.25, onlySuccess.Fitness(0.25, 1, 1), 1e-12)
	unnormalised := Weights{Success: 3, Recovery: 1}
	assert.InDelta(t, 0.75, unnormalised.Fitness(1, 0, 1), 1e-12, "weights are normalised by their sum")
}

func TestWeightsValidate(t *testing.T) {
	assert.NoError(t, Weights{}.Validate())
	assert.NoError(t, DefaultWeights.Validate())
	assert.ErrorContains(t, Weights{Success: -1, Recovery: 1}.Validate(), "Weights.Success = -1")
	assert.ErrorContains(t, Weights{Success: 1, Efficiency: math.Inf(1)}.Validate(), "Weights.Efficiency")
}
