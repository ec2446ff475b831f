"""DICOM PS3.15 Table E.1-1: the Basic Application Level Confidentiality Profile's actions."""

from __future__ import annotations

from pydicom.datadict import tag_for_keyword

# Action codes of PS3.15 E.1.1 (Table E.1-1, column "Basic Prof."):
#   X remove; Z replace with a zero-length value; D replace with a non-zero dummy value;
#   U replace a UID with a consistent non-identifying one; K keep;
#   combinations (X/Z, X/D, Z/D, X/Z/D, X/Z/U*) depend on the attribute's Type in the IOD,
#   and U* means "replace the UIDs inside the sequence".
# Transcribed from the standard's table by keyword (every keyword is checked against
# pydicom's data dictionary at import). Attributes the table does not list are kept by the
# Basic Profile; deidentify.py adds stricter rules by VR for those (names, UIDs, dates...).
# Command-group attributes (0000,xxxx) of the table never occur in stored files.
_BY_ACTION: dict[str, str] = {
    "X": """
        AcquisitionComments ActualHumanPerformersSequence AdditionalPatientHistory
        AddressTrial AdmissionID AdmittingDate AdmittingDiagnosesCodeSequence
        AdmittingDiagnosesDescription AdmittingTime Allergies Arbitrary
        AuthorObserverSequence BeamDescription BolusDescription BranchOfService
        CameraOwnerName CassetteID ClinicalTrialProtocolEthicsCommitteeApprovalNumber
        ClinicalTrialSeriesDescription ClinicalTrialSeriesID
        ClinicalTrialTimePointDescription CommentsOnRadiationDose
        CommentsOnThePerformedProcedureStep CompensatorDescription
        ConfidentialityConstraintOnPatientDataDescription
        ConsultingPhysicianIdentificationSequence ContainerComponentID ContainerDescription
        ContentCreatorIdentificationCodeSequence ContributionDescription CountryOfResidence
        CurrentObserverTrial CurrentPatientLocation CurveDate CurveTime
        CustodialOrganizationSequence DataSetTrailingPadding DecompositionDescription
        DerivationDescription DeviceDescription DeviceSettingDescription
        DigitalSignaturesSequence DischargeDiagnosisDescription DistributionAddress
        DistributionName DoseReferenceDescription EntityDescription EntityName
        EquipmentFrameOfReferenceDescription EthnicGroup ExpectedCompletionDateTime
        FixationDeviceDescription FractionGroupDescription FrameComments GantryID
        GeneratorID HumanPerformerName HumanPerformerOrganization IconImageSequence
        IdentifyingComments ImageComments ImagePresentationComments
        ImagingServiceRequestComments Impressions InstanceCoercionDateTime
        InstanceOriginStatus InstitutionAddress InstitutionalDepartmentName
        InstitutionalDepartmentTypeCodeSequence InsurancePlanIdentification
        IntendedRecipientsOfResultsIdentificationSequence InterpretationApproverSequence
        InterpretationAuthor InterpretationDiagnosisDescription InterpretationIDIssuer
        InterpretationRecorder InterpretationText InterpretationTranscriber
        IssuerOfAdmissionID IssuerOfAdmissionIDSequence IssuerOfPatientID
        IssuerOfServiceEpisodeID IssuerOfServiceEpisodeIDSequence LastMenstrualDate LensMake
        LensModel LensSerialNumber LensSpecification LongDeviceDescription MAC MakerNote
        MedicalAlerts MedicalRecordLocator MilitaryRank ModifiedAttributesSequence
        ModifiedImageDescription ModifyingDeviceID MultienergyAcquisitionDescription
        NameOfPhysiciansReadingStudy NamesOfIntendedRecipientsOfResults
        NonconformingModifiedAttributesSequence NonconformingDataElementValue
        ObservationDateTrial ObservationTimeTrial Occupation OrderCallbackPhoneNumber
        OrderCallbackTelecomInformation OrderEnteredBy OrderEntererLocation
        OriginalAttributesSequence OtherPatientIDs OtherPatientIDsSequence OtherPatientNames
        OverlayDate OverlayTime ParticipantSequence PatientAddress PatientAge
        PatientBirthName PatientBirthTime PatientInstitutionResidence
        PatientInsurancePlanCodeSequence PatientMotherBirthName
        PatientPrimaryLanguageCodeSequence PatientPrimaryLanguageModifierCodeSequence
        PatientReligiousPreference PatientSize PatientTelecomInformation
        PatientTelephoneNumbers PatientWeight PatientComments PatientState
        PatientTransportArrangements PerformedLocation PerformedProcedureStepDescription
        PerformedProcedureStepEndDate PerformedProcedureStepEndDateTime
        PerformedProcedureStepEndTime PerformedProcedureStepID
        PerformedProcedureStepStartDate PerformedProcedureStepStartDateTime
        PerformedProcedureStepStartTime PerformedStationAETitle
        PerformedStationGeographicLocationCodeSequence PerformedStationName
        PerformedStationNameCodeSequence PerformingPhysicianName
        PerformingPhysicianIdentificationSequence PersonAddress PersonTelecomInformation
        PersonTelephoneNumbers PhysiciansOfRecord PhysiciansOfRecordIdentificationSequence
        PhysiciansReadingStudyIdentificationSequence PhysicianApprovingInterpretation
        PlateID PregnancyStatus PreMedication PrescriptionDescription
        PriorTreatmentDoseDescription ProcedureStepCancellationDateTime
        ReasonForOmissionDescription ReasonForRequestedProcedureCodeSequence ReasonForStudy
        ReasonForTheImagingServiceRequest ReasonForTheRequestedProcedure ReasonForVisit
        ReasonForVisitCodeSequence ReferencedDigitalSignatureSequence
        ReferencedPatientAliasSequence ReferencedPatientPhotoSequence
        ReferencedPatientSequence ReferencedSOPInstanceMACSequence ReferringPhysicianAddress
        ReferringPhysicianTelephoneNumbers ReferringPhysicianIdentificationSequence
        RegionOfResidence RequestAttributesSequence RequestedContrastAgent
        RequestedProcedureComments RequestedProcedureID RequestedProcedureLocation
        RequestedSeriesDescription RequestingPhysician RequestingService
        RespiratoryMotionCompensationTechniqueDescription ResponsibleOrganization
        ResponsiblePerson ResultsComments ResultsDistributionListSequence ResultsIDIssuer
        ROIDescription ROIGenerationDescription ROIObservationDescription
        ROIObservationLabel RTPlanDescription RTPlanName ScheduledHumanPerformersSequence
        ScheduledPatientInstitutionResidence ScheduledPerformingPhysicianName
        ScheduledPerformingPhysicianIdentificationSequence ScheduledProcedureStepDescription
        ScheduledProcedureStepEndDate ScheduledProcedureStepEndTime
        ScheduledProcedureStepExpirationDateTime ScheduledProcedureStepID
        ScheduledProcedureStepLocation ScheduledProcedureStepModificationDateTime
        ScheduledProcedureStepStartDate ScheduledProcedureStepStartDateTime
        ScheduledProcedureStepStartTime ScheduledStationAETitle
        ScheduledStationGeographicLocationCodeSequence ScheduledStationName
        ScheduledStationNameCodeSequence ScheduledStudyLocation
        ScheduledStudyLocationAETitle SeriesDescription ServiceEpisodeDescription
        ServiceEpisodeID SetupTechniqueDescription ShieldingDeviceDescription
        SlideIdentifier SmokingStatus SourceManufacturer SpecialNeeds
        SpecimenAccessionNumber SpecimenDetailedDescription SpecimenShortDescription
        StructureSetDescription StructureSetName StudyComments StudyDescription
        StudyIDIssuer TelephoneNumberTrial TextComments TextString TimezoneOffsetFromUTC
        TopicAuthor TopicKeywords TopicSubject TopicTitle TransducerIdentificationSequence
        TreatmentMachineName UDISequence UniqueDeviceIdentifier VerbalSourceTrial
        VerbalSourceIdentifierCodeSequenceTrial VisitComments XRayDetectorLabel
    """,
    "Z": """
        AccessionNumber ClinicalTrialCoordinatingCenterName ClinicalTrialProtocolName
        ClinicalTrialSiteID ClinicalTrialSiteName ClinicalTrialTimePointID
        ConceptualVolumeCombinationDescription ConceptualVolumeDescription
        ConsultingPhysicianName DeviceAlternateIdentifier
        FillerOrderNumberImagingServiceRequest FractionationNotes
        IssuerOfTheContainerIdentifierSequence IssuerOfTheSpecimenIdentifierSequence
        ManufacturerDeviceIdentifier PatientBirthDate PatientName PatientSex PatientID
        PlacerOrderNumberImagingServiceRequest PrescriptionNotes PrescriptionNotesSequence
        RadiationGenerationModeDescription ReasonForSuperseding ReferringPhysicianName
        ROIInterpreter ROIName RTAccessoryDeviceSlotID RTAccessoryHolderSlotID
        RTPhysicianIntentNarrative SpecimenPreparationSequence StructureSetDate StudyDate
        StudyID StudyTime TreatmentTechniqueNotes
        VerifyingObserverIdentificationCodeSequence
    """,
    "D": """
        AcquisitionFieldOfViewLabel ClinicalTrialProtocolEthicsCommitteeName
        ClinicalTrialProtocolID ClinicalTrialSponsorName ClinicalTrialSubjectID
        ClinicalTrialSubjectReadingID ContainerIdentifier ContentSequence DeviceLabel
        EntityLabel EntityLongLabel FlowIdentifier FlowIdentifierSequence
        FrameOriginTimestamp GraphicAnnotationSequence ImpedanceMeasurementDateTime
        InterlockDateTime InterlockDescription InterlockOriginDescription OverrideDateTime
        PersonIdentificationCodeSequence PersonName RadiationDoseIdentificationLabel
        RadiationDoseInVivoMeasurementLabel RadiationGenerationModeLabel
        RecordedRTControlPointDateTime RTPlanLabel RTPrescriptionLabel RTToleranceSetLabel
        SourceEndDateTime SourceIdentifier SourceStartDateTime SpecimenIdentifier
        StructureSetLabel TreatmentPositionGroupLabel TreatmentSite
        TreatmentToleranceViolationDateTime TreatmentToleranceViolationDescription
        UserContentLabel UserContentLongLabel VerifyingObserverName
        VerifyingObserverSequence VerifyingOrganization XRayDetectorID XRaySourceID
    """,
    "X/Z": """
        AcquisitionContextSequence AcquisitionDate AcquisitionTime BarcodeValue LabelText
        PatientSexNeutered ReferencedStudySequence RequestedProcedureDescription
        ReviewerName SourceSerialNumber
    """,
    "X/D": """
        AcquisitionDeviceProcessingDescription DetectorID EndAcquisitionDateTime
        FirstTreatmentDate IntendedPhaseEndDate IntendedPhaseStartDate
        MostRecentTreatmentDate OperatorIdentificationSequence ProtocolName RTPlanDate
        RTPlanTime RTTreatmentApproachLabel SeriesDate SeriesTime StartAcquisitionDateTime
        StructureSetTime TreatmentDate TreatmentTime
    """,
    "Z/D": """
        ContentCreatorName ContentDate ContentTime ContrastBolusAgent
    """,
    "X/Z/D": """
        AcquisitionDateTime DeviceSerialNumber InstitutionCodeSequence InstitutionName
        OperatorsName ReferencedPerformedProcedureStepSequence StationName
    """,
    "X/Z/U*": """
        ReferencedImageSequence SourceImageSequence
    """,
    "U": """
        ConcatenationUID ConceptualVolumeUID ConstituentConceptualVolumeUID DeviceUID
        DigitalSignatureUID DimensionOrganizationUID DoseReferenceUID DosimetricObjectiveUID
        FailedSOPInstanceUIDList FiducialUID FrameOfReferenceUID InstanceCreatorUID
        IrradiationEventUID LargePaletteColorLookupTableUID ManufacturerDeviceClassUID
        MediaStorageSOPInstanceUID MultiplexGroupUID ObservationSubjectUIDTrial
        ObservationUID PaletteColorLookupTableUID PatientSetupUID
        PresentationDisplayCollectionUID PresentationSequenceCollectionUID
        ReferencedConceptualVolumeUID ReferencedDoseReferenceUID
        ReferencedDosimetricObjectiveUID ReferencedFiducialsUID
        ReferencedFrameOfReferenceUID
        ReferencedGeneralPurposeScheduledProcedureStepTransactionUID
        ReferencedObservationUIDTrial ReferencedSOPInstanceUID
        ReferencedSOPInstanceUIDInFile RelatedFrameOfReferenceUID RTTreatmentPhaseUID
        SeriesInstanceUID SOPInstanceUID SourceConceptualVolumeUID SpecimenUID
        StorageMediaFileSetUID StudyInstanceUID SynchronizationFrameOfReferenceUID TargetUID
        TemplateExtensionCreatorUID TemplateExtensionOrganizationUID TrackingUID
        TransactionUID TreatmentPositionGroupUID TreatmentSessionUID UID
    """,
}

# Not in the edition transcribed above, removed all the same: later editions list them (X),
# or they hold a birth date or an issuer's identity in another form.
_ALSO_REMOVED = """
    PatientBirthDateInAlternativeCalendar PatientDeathDateInAlternativeCalendar
    PatientAlternativeCalendar IssuerOfPatientIDQualifiersSequence BreedRegistrationNumber
"""

# GPS Version ID (0016,0070) to GPS Differential (0016,008E): all X in the table.
GPS_RANGE = (0x00160070, 0x0016008E)
# Repeating groups: Curve Data (50xx,xxxx) X; Overlay Data (60xx,3000) and Overlay
# Comments (60xx,4000) X.
CURVE_GROUPS = range(0x5000, 0x5100, 2)
OVERLAY_GROUPS = range(0x6000, 0x6100, 2)
OVERLAY_REMOVED_ELEMENTS = frozenset({0x3000, 0x4000})


def _build() -> dict[int, str]:
    actions: dict[int, str] = {}
    for action, keywords in [*_BY_ACTION.items(), ("X", _ALSO_REMOVED)]:
        for keyword in keywords.split():
            tag = tag_for_keyword(keyword)
            if tag is None:
                raise LookupError(f"PS3.15 keyword unknown to pydicom: {keyword}")
            actions[tag] = action
    for tag in range(GPS_RANGE[0], GPS_RANGE[1] + 1):
        actions[tag] = "X"
    return actions


ACTIONS: dict[int, str] = _build()


def table_action(tag: int) -> str | None:
    """The Table E.1-1 action for a public tag, or None when the table does not list it."""
    action = ACTIONS.get(tag)
    if action is not None:
        return action
    group, element = tag >> 16, tag & 0xFFFF
    if group in CURVE_GROUPS:
        return "X"
    if group in OVERLAY_GROUPS and element in OVERLAY_REMOVED_ELEMENTS:
        return "X"
    return None
