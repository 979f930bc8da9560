package org.mobilevton.studio

import android.Manifest
import android.content.ActivityNotFoundException
import android.content.pm.PackageManager
import android.net.Uri
import android.os.Build
import android.os.Bundle
import android.view.View
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.ImageView
import android.widget.ProgressBar
import android.widget.Spinner
import android.widget.TextView
import android.widget.Toast
import androidx.activity.ComponentActivity
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.activity.viewModels
import androidx.core.content.ContextCompat
import androidx.core.content.FileProvider
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import kotlinx.coroutines.launch
import java.io.File

/*
 * One screen: portrait and garment (gallery via the Photo Picker, or camera), category and
 * resolution (both listed from the manifest), seed, Try on / Cancel with "step x/N"
 * progress, the result, Save to the gallery. Layout only: behaviour lives in MainViewModel.
 */
class MainActivity : ComponentActivity() {
    private val vm: MainViewModel by viewModels()

    private var cameraSlot: Slot? = null
    private var cameraUri: Uri? = null
    private var pickSlot: Slot = Slot.PORTRAIT

    private lateinit var bundleInfo: TextView
    private lateinit var portraitView: ImageView
    private lateinit var garmentView: ImageView
    private lateinit var resultView: ImageView
    private lateinit var categorySpinner: Spinner
    private lateinit var resolutionSpinner: Spinner
    private lateinit var seedField: EditText
    private lateinit var tryOnButton: Button
    private lateinit var cancelButton: Button
    private lateinit var saveButton: Button
    private lateinit var progressBar: ProgressBar
    private lateinit var statusText: TextView
    private var shownCategories: List<String> = emptyList()
    private var shownResolutions: List<String> = emptyList()
    private var shownMessage: String? = null

    private val pickImage = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) vm.pick(pickSlot, uri)
    }

    private val takePicture = registerForActivityResult(ActivityResultContracts.TakePicture()) { ok ->
        val slot = cameraSlot
        val uri = cameraUri
        if (ok && slot != null && uri != null) vm.pick(slot, uri)
    }

    private val storagePermission = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) vm.save() else toast(getString(R.string.save_needs_permission))
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_main)
        savedInstanceState?.let { b ->
            cameraSlot = b.getString(KEY_CAMERA_SLOT)?.let { Slot.valueOf(it) }
            cameraUri = b.getString(KEY_CAMERA_URI)?.let { Uri.parse(it) }
            b.getString(KEY_PICK_SLOT)?.let { pickSlot = Slot.valueOf(it) }
        }
        bundleInfo = findViewById(R.id.bundle_info)
        portraitView = findViewById(R.id.portrait)
        garmentView = findViewById(R.id.garment)
        resultView = findViewById(R.id.result)
        categorySpinner = findViewById(R.id.category)
        resolutionSpinner = findViewById(R.id.resolution)
        seedField = findViewById(R.id.seed)
        tryOnButton = findViewById(R.id.try_on)
        cancelButton = findViewById(R.id.cancel)
        saveButton = findViewById(R.id.save)
        progressBar = findViewById(R.id.progress)
        statusText = findViewById(R.id.status)

        findViewById<Button>(R.id.portrait_gallery).setOnClickListener { pickFromGallery(Slot.PORTRAIT) }
        findViewById<Button>(R.id.portrait_camera).setOnClickListener { takeWithCamera(Slot.PORTRAIT) }
        findViewById<Button>(R.id.garment_gallery).setOnClickListener { pickFromGallery(Slot.GARMENT) }
        findViewById<Button>(R.id.garment_camera).setOnClickListener { takeWithCamera(Slot.GARMENT) }
        tryOnButton.setOnClickListener { startTryOn() }
        cancelButton.setOnClickListener { vm.cancel() }
        saveButton.setOnClickListener { saveResult() }

        lifecycleScope.launch {
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                vm.state.collect { render(it) }
            }
        }
    }

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        cameraSlot?.let { outState.putString(KEY_CAMERA_SLOT, it.name) }
        cameraUri?.let { outState.putString(KEY_CAMERA_URI, it.toString()) }
        outState.putString(KEY_PICK_SLOT, pickSlot.name)
    }

    private fun pickFromGallery(slot: Slot) {
        pickSlot = slot
        pickImage.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
    }

    private fun takeWithCamera(slot: Slot) {
        val dir = File(cacheDir, "camera").apply { mkdirs() }
        val file = File(dir, "${slot.name.lowercase()}-${System.currentTimeMillis()}.jpg")
        val uri = FileProvider.getUriForFile(this, "$packageName.files", file)
        cameraSlot = slot
        cameraUri = uri
        try {
            takePicture.launch(uri)
        } catch (e: ActivityNotFoundException) {
            toast(getString(R.string.no_camera))
        }
    }

    private fun startTryOn() {
        val category = categorySpinner.selectedItem as? String ?: return
        val resolution = resolutionSpinner.selectedItem as? String
        val seed = seedField.text.toString().trim().toLongOrNull() ?: 0L
        vm.run(category, resolution, seed)
    }

    private fun saveResult() {
        val needsPermission = Build.VERSION.SDK_INT < 29 && ContextCompat.checkSelfPermission(
            this, Manifest.permission.WRITE_EXTERNAL_STORAGE
        ) != PackageManager.PERMISSION_GRANTED
        if (needsPermission) storagePermission.launch(Manifest.permission.WRITE_EXTERNAL_STORAGE) else vm.save()
    }

    private fun render(s: UiState) {
        bundleInfo.text = s.bundleInfo
        if (s.categories != shownCategories) {
            shownCategories = s.categories
            categorySpinner.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, s.categories)
        }
        if (s.resolutions != shownResolutions) {
            shownResolutions = s.resolutions
            resolutionSpinner.adapter = ArrayAdapter(this, android.R.layout.simple_spinner_dropdown_item, s.resolutions)
            resolutionSpinner.visibility = if (s.resolutions.size > 1) View.VISIBLE else View.GONE
        }
        s.portrait?.let { portraitView.setImageBitmap(it.preview) }
        s.garment?.let { garmentView.setImageBitmap(it.preview) }
        resultView.setImageBitmap(s.result)
        resultView.visibility = if (s.result != null) View.VISIBLE else View.GONE
        tryOnButton.isEnabled = s.ready && !s.running && s.portrait != null && s.garment != null
        cancelButton.isEnabled = s.running
        saveButton.isEnabled = !s.running && s.result != null
        progressBar.visibility = if (s.running) View.VISIBLE else View.INVISIBLE
        progressBar.max = Math.max(1, s.steps)
        progressBar.progress = s.step
        statusText.text = when {
            s.running && s.stage == Progress.DENOISE -> getString(R.string.progress_step, s.step, s.steps)
            s.running -> getString(R.string.progress_stage, stageLabel(s.stage), s.step, s.steps)
            !s.ready && s.message == null -> getString(R.string.loading_bundle)
            else -> ""
        }
        if (s.message != null && s.message != shownMessage) {
            toast(s.message)
            vm.dismissMessage()
        }
        shownMessage = s.message
    }

    private fun stageLabel(stage: String): String = when (stage) {
        Progress.LOAD -> getString(R.string.stage_load)
        Progress.ENCODE -> getString(R.string.stage_encode)
        Progress.GARMENT -> getString(R.string.stage_garment)
        Progress.DECODE -> getString(R.string.stage_decode)
        else -> stage
    }

    private fun toast(text: String) = Toast.makeText(this, text, Toast.LENGTH_LONG).show()

    private companion object {
        const val KEY_CAMERA_SLOT = "camera_slot"
        const val KEY_CAMERA_URI = "camera_uri"
        const val KEY_PICK_SLOT = "pick_slot"
    }
}
